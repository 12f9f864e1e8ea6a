"""A user's notification channels: their preferences (push, e-mail, a webhook of their own) and
their browsers' Web Push subscriptions. The API, the web UI and the notifier all go through
these functions; ``targets`` holds the one rule for where the server may send a request."""
