"""Notification service: fires reminders on time and delivers them (webhook, e-mail, log)."""
