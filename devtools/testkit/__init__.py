"""The test toolkit both ``tests/`` and ``bench/`` import: worker processes and their
environment, a poller with deadlines, receivers for webhooks and e-mail, the API-plus-workers
stack, and account helpers. Real components only; the fixtures that start them stay in
``tests/fixtures``.
"""
