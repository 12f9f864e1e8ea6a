"""Reading PromQL expressions: the metric names and label matchers each one selects."""

from __future__ import annotations

from dataclasses import dataclass

import promql_parser

# What Grafana puts in for its built-in variables when it runs a panel's query
# (test_dashboards checks these are all of infra.observability.grafana.BUILTIN_VARIABLES).
GRAFANA_SUBSTITUTES = {"$__rate_interval": "5m", "$__range": "6h"}


@dataclass(frozen=True)
class Selector:
    metric: str
    labels: frozenset[str]


def grafana_to_promql(expr: str, namespace: str) -> str:
    """A panel's expression as Grafana sends it to Prometheus for the default variables."""
    for variable, value in GRAFANA_SUBSTITUTES.items():
        expr = expr.replace(variable, value)
    return expr.replace("$namespace", namespace)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of ``expr``: metric name and the labels it matches on."""
    found: list[Selector] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"selector without a metric name in {expr!r}"
            labels = frozenset(matcher.name for matcher in node.matchers.matchers)
            found.append(Selector(node.name, labels))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found
