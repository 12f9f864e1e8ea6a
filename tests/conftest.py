pytest_plugins = ["tests.fixtures.components"]
