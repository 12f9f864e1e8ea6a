// The service worker: shows a reminder pushed by the notifier (Web Push), even when no page
// of the app is open. The payload is the notifier's JSON (services/notifier/channels/push.py),
// decrypted by the browser. A reminder delivered twice (at-least-once) shows once: the
// notification is tagged with the reminder's id.
"use strict";

self.addEventListener("push", function (event) {
  let reminder = {};
  try {
    reminder = event.data ? event.data.json() : {};
  } catch (error) {
    reminder = {};
  }
  const title = "Reminder: " + (reminder.title || "a task is due");
  const options = {
    body: reminder.due_date ? "Due " + new Date(reminder.due_date).toLocaleString() : "",
    tag: reminder.reminder_id || "reminder",
    // shown_at: when the worker showed it (the browser test measures delivery with it).
    data: { task_id: reminder.task_id || null, remind_at: reminder.remind_at || null, shown_at: Date.now() },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  const taskId = event.notification.data && event.notification.data.task_id;
  event.waitUntil(self.clients.openWindow(taskId ? "/ui/tasks/" + taskId + "/edit" : "/"));
});
