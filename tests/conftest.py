pytest_plugins = [
    "tests.fixtures.chat_completions",
    "tests.fixtures.components",
    "tests.fixtures.cluster",
    "tests.fixtures.pulumi_stacks",
    "tests.fixtures.unhandled",
    "tests.fixtures.watchdog",
]
