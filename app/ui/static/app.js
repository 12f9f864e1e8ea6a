// Progressive enhancement of the server-rendered pages: every page works without this file.
// It reports the browser's time zone, keeps the task list live (Server-Sent Events), raises
// reminder notifications, and makes the task form adapt to the chosen recurrence.
"use strict";

(function () {
  const body = document.body;
  const liveStatus = document.getElementById("live-status");

  function announce(message) {
    if (!liveStatus) return;
    // Clearing first makes screen readers announce a repeated message again.
    liveStatus.textContent = "";
    window.setTimeout(function () { liveStatus.textContent = message; }, 50);
  }

  // --- Time zone: the server shows due dates in the zone the browser reports. ---
  function reportTimeZone() {
    let zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    if (!zone) return;
    const current = document.cookie.split("; ").find(function (c) { return c.indexOf("todo_tz=") === 0; });
    if (current && decodeURIComponent(current.slice(8)) === zone) return;
    document.cookie = "todo_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    const shown = document.getElementById("viewer-timezone");
    // First visit in this zone: show the page again in it (once: the cookie now matches).
    if (body.dataset.signedIn && shown && shown.textContent !== zone) window.location.reload();
  }

  const LOGIN_PATH = "/ui/login";

  function here() {
    return window.location.pathname + window.location.search;
  }

  // --- Live list: reload the groups whenever the server says something changed. ---
  let refreshTimer = null;
  let refreshing = false;
  let refreshAgain = false;

  function restoreFocus(container, label, id) {
    let target = null;
    if (id) target = document.getElementById(id);
    if (!target && label) {
      target = Array.from(container.querySelectorAll("[aria-label]")).find(function (el) {
        return el.getAttribute("aria-label") === label;
      }) || null;
    }
    if (target) target.focus();
  }

  async function refreshList() {
    const container = document.getElementById("task-groups");
    if (!container) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      const response = await fetch(container.dataset.source, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (response.redirected && new URL(response.url).pathname === "/ui/login") {
        // The session ended: log in and come back to this page, never to the bare fragment
        // the script asked for.
        window.location.assign(LOGIN_PATH + "?next=" + encodeURIComponent(here()));
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      const active = document.activeElement;
      const hadFocus = active && container.contains(active);
      const label = hadFocus ? active.getAttribute("aria-label") : null;
      const id = hadFocus ? active.id : null;
      container.innerHTML = html;
      if (hadFocus) restoreFocus(container, label, id);
      body.dataset.listVersion = String(Number(body.dataset.listVersion || "0") + 1);
      announce("Task list updated.");
    } catch (error) {
      // Offline for a moment: the next notice or reconnect refreshes again.
    } finally {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; scheduleRefresh(); }
    }
  }

  function scheduleRefresh() {
    if (refreshTimer !== null) window.clearTimeout(refreshTimer);
    // Several notices in a burst (complete + next occurrence) become one reload.
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refreshList(); }, 150);
  }

  function formatDue(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (error) {
      return iso;
    }
  }

  function showReminder(data) {
    const due = data.due_date ? "Due " + formatDue(data.due_date) : "Reminder";
    const text = "Reminder: " + data.title + (data.due_date ? " (" + due + ")" : "");
    let list = document.getElementById("reminder-toasts");
    if (!list) {
      list = document.createElement("ul");
      list.id = "reminder-toasts";
      list.className = "toasts";
      list.setAttribute("aria-label", "Reminders");
      document.getElementById("main").prepend(list);
    }
    const item = document.createElement("li");
    item.className = "toast";
    item.textContent = text;
    list.prepend(item);
    announce(text);
    if ("Notification" in window && Notification.permission === "granted") {
      // tag: a reminder delivered twice (at-least-once) shows one notification.
      new Notification("Reminder: " + data.title, { body: due, tag: data.reminder_id });
    }
  }

  function connect() {
    if (!body.dataset.signedIn || !("EventSource" in window)) return;
    const source = new EventSource("/ui/events");
    source.addEventListener("ready", function () {
      body.dataset.live = "connected";
      // Notices sent before the stream was subscribed (between rendering this page and now,
      // or while reconnecting) are lost: catch up once the stream is live.
      scheduleRefresh();
    });
    source.addEventListener("change", scheduleRefresh);
    source.addEventListener("resync", scheduleRefresh);
    source.addEventListener("reminder", function (event) {
      try {
        showReminder(JSON.parse(event.data));
      } catch (error) {
        // A malformed notice is not worth breaking the page for.
      }
    });
    source.addEventListener("error", function () {
      body.dataset.live = "reconnecting";
      // CLOSED: the server refused (e.g. the session expired); see where the list sends us.
      if (source.readyState === EventSource.CLOSED) refreshList();
    });
  }

  // --- Notifications: ask only when the user clicks, as browsers require. ---
  function offerNotifications() {
    const button = document.getElementById("enable-notifications");
    if (!button || !("Notification" in window) || Notification.permission !== "default") return;
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function (permission) {
        button.hidden = true;
        announce(permission === "granted" ? "Reminder notifications enabled." : "Reminder notifications stay off.");
      });
    });
  }

  // --- Web Push: subscribe this browser (service worker + PushManager), hand the
  // subscription to the server as a CSRF-checked form post. ---
  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); });
  }

  // The worker's scope is /ui/static/, so it controls no page and serviceWorker.ready would
  // never resolve: wait for this registration's worker itself (push needs it active).
  function activated(registration) {
    if (registration.active) return Promise.resolve(registration);
    const worker = registration.installing || registration.waiting;
    return new Promise(function (resolve) {
      worker.addEventListener("statechange", function () {
        if (worker.state === "activated") resolve(registration);
      });
    });
  }

  function postForm(setup, url, fields) {
    const form = new URLSearchParams();
    form.set(setup.dataset.csrfField, setup.dataset.csrf);
    Object.keys(fields).forEach(function (name) { form.set(name, fields[name]); });
    return fetch(url, { method: "POST", body: form, credentials: "same-origin" });
  }

  function thisBrowsersSubscription() {
    return navigator.serviceWorker.getRegistration("/ui/static/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    });
  }

  // A push button's change: `change` (a promise of the server's answer to the post) runs with
  // the button disabled; once the server took it the page reloads to show the new state, and a
  // failure or refusal enables the button again and says why.
  function changeOnClick(button, status, words, change) {
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = words.busy;
      change()
        .then(function (response) {
          if (!response.ok) throw new Error(words.refused + " (" + response.status + ")");
          window.location.assign("/ui/notifications");
        })
        .catch(function (error) {
          button.disabled = false;
          status.textContent = words.failed + error.message;
        });
    });
  }

  // The browser unsubscribes first: should the server's removal then fail, the push service
  // answers the next reminder with "gone" and the notifier forgets the endpoint by itself.
  function offerDisablePush(setup, status) {
    const button = document.getElementById("disable-push");
    thisBrowsersSubscription().then(function (subscription) {
      if (subscription) button.hidden = false;
    });
    changeOnClick(button, status, {
      busy: "Unsubscribing…",
      refused: "the server kept the subscription",
      failed: "Push could not be disabled: ",
    }, function () {
      return thisBrowsersSubscription()
        .then(function (subscription) {
          if (!subscription) return null;
          const endpoint = subscription.endpoint;
          return subscription.unsubscribe().then(function () { return endpoint; });
        })
        .then(function (endpoint) {
          if (endpoint === null) return { ok: true };
          return postForm(setup, "/ui/notifications/subscriptions/remove-this-browser", { endpoint: endpoint });
        });
    });
  }

  function offerPush() {
    const setup = document.getElementById("push-setup");
    const button = document.getElementById("enable-push");
    const status = document.getElementById("push-status");
    if (!setup || !button) return;
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      button.hidden = true;
      status.textContent = "This browser does not support Web Push.";
      return;
    }
    offerDisablePush(setup, status);
    changeOnClick(button, status, {
      busy: "Subscribing…",
      refused: "the server refused the subscription",
      failed: "Push could not be enabled: ",
    }, function () {
      return Notification.requestPermission()
        .then(function (permission) {
          if (permission !== "granted") throw new Error("notifications are not allowed");
          return navigator.serviceWorker.register("/ui/static/sw.js");
        })
        .then(activated)
        .then(function (registration) {
          return registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(setup.dataset.vapidKey),
          });
        })
        .then(function (subscription) {
          const json = subscription.toJSON();
          return postForm(setup, "/ui/notifications/subscriptions", {
            endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth,
          });
        });
    });
  }

  // --- Task form: show the recurrence inputs that apply, add reminder rows. ---
  const UNITS = { daily: "days", weekly: "weeks", monthly: "months", yearly: "years" };

  function enhanceTaskForm() {
    const freq = document.getElementById("freq");
    if (!freq) return;
    const unit = document.getElementById("interval-unit");
    function applyFreq() {
      document.querySelectorAll("[data-repeat]").forEach(function (element) {
        const wanted = element.dataset.repeat;
        const applies = freq.value !== "none" && (!wanted || wanted.split(" ").indexOf(freq.value) >= 0);
        element.hidden = !applies;
      });
      if (unit) unit.textContent = UNITS[freq.value] || "periods";
    }
    freq.addEventListener("change", applyFreq);
    applyFreq();

    // Typing a last day or a count means that is how the series ends.
    [["until", "ends-until"], ["count", "ends-count"]].forEach(function (pair) {
      const input = document.getElementById(pair[0]);
      const radio = document.getElementById(pair[1]);
      if (input && radio) input.addEventListener("input", function () { radio.checked = true; });
    });

    const add = document.getElementById("add-reminder");
    const rows = document.getElementById("reminder-rows");
    if (add && rows) {
      add.hidden = false;
      add.addEventListener("click", function () {
        const last = rows.lastElementChild;
        if (!last) return;
        const index = rows.children.length;
        const row = last.cloneNode(true);
        row.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
        const amount = row.querySelector("input");
        const unitSelect = row.querySelector("select");
        const labels = row.querySelectorAll("label");
        amount.id = "reminder-amount-" + index;
        amount.value = "";
        amount.removeAttribute("aria-invalid");
        amount.removeAttribute("aria-describedby");
        unitSelect.id = "reminder-unit-" + index;
        labels[0].htmlFor = amount.id;
        labels[0].textContent = "Reminder " + (index + 1);
        labels[1].htmlFor = unitSelect.id;
        labels[1].textContent = "Unit of reminder " + (index + 1);
        rows.appendChild(row);
        amount.focus();
      });
    }

    const summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  // --- Filters: open on wide screens; on a phone they stay folded below the list's head. ---
  function openFiltersWhenRoomy() {
    const panel = document.getElementById("filter-panel");
    if (panel && window.matchMedia("(min-width: 48rem)").matches) panel.open = true;
  }

  // --- Focus: after Complete, Save or Delete the page reloads; keep the user's place. ---
  const FOCUS_KEY = "todo.focus";
  const TASK_ACTION = /\/ui\/tasks\/([0-9a-f-]{36})\/(complete|edit|delete)$/;

  function rememberTaskAction() {
    document.addEventListener("submit", function (event) {
      const action = (event.target.getAttribute("action") || "").match(TASK_ACTION);
      if (!action) return;
      try {
        window.sessionStorage.setItem(FOCUS_KEY, action[1] + " " + action[2]);
      } catch (error) { /* storage disabled: the page just starts at the top */ }
    });
  }

  function restoreTaskFocus() {
    let remembered = null;
    try {
      remembered = window.sessionStorage.getItem(FOCUS_KEY);
      window.sessionStorage.removeItem(FOCUS_KEY);
    } catch (error) {
      return;
    }
    const notice = document.querySelector("main .notice[role=status]");
    // Only right after the change: the list shows its notice then (a failed form does not).
    if (!remembered || !notice) return;
    const [taskId, action] = remembered.split(" ");
    const task = document.getElementById("task-" + taskId);
    // Back on the control used (Edit after Save); a completed task's first control otherwise.
    const control = task && (
      (action === "edit" && task.querySelector(".task-actions a[href*='/edit']")) ||
      task.querySelector(".task-actions a, .task-actions button"));
    if (control) {
      control.focus();
    } else {
      // The task is gone (deleted): the notice saying so is where the user continues.
      notice.tabIndex = -1;
      notice.focus();
    }
  }

  // --- Drafts: what a person typed survives a session that ended before they saved. ---
  // On submit the form's fields are kept in this tab's sessionStorage (never passwords or the
  // CSRF token). If the post meets an ended session, the server sends the browser to log in and
  // then back to the form's page; there the fields are filled in again, once, with a notice,
  // and the person saves again (with a fresh CSRF token: nothing is replayed behind their
  // back). Any other page load drops the draft: the post went through, or failed visibly.
  const DRAFT_KEY = "todo.draft";
  const NOT_KEPT = { csrf_token: true, next: true };

  function keepDrafts() {
    document.addEventListener("submit", function (event) {
      const form = event.target;
      if (form.method !== "post" || form.hasAttribute("data-no-draft")) return;
      // Buttons alone (Complete, Delete, Log out) carry nothing typed.
      if (!form.querySelector("textarea, input:not([type]), input[type=text], input[type=email], input[type=number], input[type=datetime-local], input[type=date]")) return;
      const fields = [];
      Array.from(form.elements).forEach(function (element) {
        if (!element.name || NOT_KEPT[element.name] || element.type === "password") return;
        if (element.type === "submit" || element.type === "button") return;
        const checkable = element.type === "checkbox" || element.type === "radio";
        fields.push([element.name, checkable ? element.checked : element.value]);
      });
      try {
        window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify({
          page: here(), action: form.getAttribute("action"), fields: fields, viaLogin: false,
        }));
      } catch (error) { /* storage disabled: nothing is kept */ }
    });
  }

  function readDraft() {
    try {
      return JSON.parse(window.sessionStorage.getItem(DRAFT_KEY) || "null");
    } catch (error) {
      return null;
    }
  }

  function restoreDraft() {
    const draft = readDraft();
    if (!draft) return;
    try {
      if (window.location.pathname === LOGIN_PATH) {
        // On the way back to the form: the login page names it as where to go next.
        const next = new URLSearchParams(window.location.search).get("next");
        if (next === draft.page) {
          draft.viaLogin = true;
          window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
        }
        return;
      }
      window.sessionStorage.removeItem(DRAFT_KEY);
    } catch (error) {
      return;
    }
    if (!draft.viaLogin || draft.page !== here()) return;
    const form = Array.from(document.querySelectorAll("form")).find(function (candidate) {
      return candidate.getAttribute("action") === draft.action;
    });
    if (!form) return;
    const seen = {};
    draft.fields.forEach(function (pair) {
      const name = pair[0];
      const value = pair[1];
      const index = seen[name] || 0;
      seen[name] = index + 1;
      const element = form.querySelectorAll("[name='" + CSS.escape(name) + "']")[index];
      if (!element) return;
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = Boolean(value);
      } else {
        element.value = value;
      }
      element.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.id = "draft-restored";
    notice.setAttribute("role", "status");
    notice.tabIndex = -1;
    notice.textContent = "You were signed out before this was saved. What you typed is back: check it and save again.";
    form.prepend(notice);
    notice.focus();
  }

  reportTimeZone();
  openFiltersWhenRoomy();
  rememberTaskAction();
  restoreTaskFocus();
  keepDrafts();
  restoreDraft();
  offerNotifications();
  offerPush();
  enhanceTaskForm();
  connect();
})();
