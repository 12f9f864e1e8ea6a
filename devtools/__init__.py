"""Developer tooling: the real components (PostgreSQL, Kafka) started for tests and by hand.

Not part of the deployed product: nothing in ``app`` or ``services`` imports it.
"""
