pytest_plugins = [
    "tests.fixtures.components",
    "tests.fixtures.unhandled",
    "tests.fixtures.watchdog",
]
