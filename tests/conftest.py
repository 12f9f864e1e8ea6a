pytest_plugins = [
    "tests.fixtures.components",
    "tests.fixtures.cluster",
    "tests.fixtures.pulumi_stacks",
    "tests.fixtures.unhandled",
    "tests.fixtures.watchdog",
]
