pytest_plugins = [
    "tests.fixtures.components",
    "tests.fixtures.cluster",
    "tests.fixtures.unhandled",
    "tests.fixtures.watchdog",
]
