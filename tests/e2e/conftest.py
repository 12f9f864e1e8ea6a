"""The end-to-end tests' stack (PostgreSQL, Kafka, the API and worker processes), from the shared
harness: imported here once, so each test module asks for the fixtures by name."""

from devtools.testkit.workers_stack import (  # noqa: F401 - fixtures are found by their names
    api_fixture,
    log_dir_fixture,
    stack_fixture,
)
