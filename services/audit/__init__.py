"""The audit service: every task-events event, appended to ``audit_log``."""
