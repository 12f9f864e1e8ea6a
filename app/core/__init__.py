"""What every process of the platform shares: the database, the event contract and outbox,
observability and the settings base.

The core imports nothing from the adapters above it (``app.api``, ``app.ui``), the task service
(``app.tasks``), the workers (``services``) or the deployment code (``infra``, ``stacks``); the
import rules are asserted by ``tests/test_import_rules.py``.
"""
