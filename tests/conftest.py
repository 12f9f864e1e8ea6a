pytest_plugins = ["tests.fixtures.components", "tests.fixtures.watchdog"]
