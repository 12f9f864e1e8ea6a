"""A small typed model of Grafana dashboards, rendered to the JSON the Grafana sidecar loads.

Only what our dashboards use: rows of time series, stat and bar-gauge panels over one
Prometheus data source chosen by a ``datasource`` variable, and a ``namespace`` variable.
The JSON follows the dashboard schema of Grafana 11/12 (kube-prometheus-stack's line);
Grafana migrates it on load if its own schema is newer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

PanelType = Literal["timeseries", "stat", "bargauge"]
SCHEMA_VERSION: Final = 39
GRID_WIDTH: Final = 24
_DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}
# Grafana variables the expressions may contain, besides ours (see `variables`).
BUILTIN_VARIABLES: Final = ("$__rate_interval", "$__range")


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: PanelType = "timeseries"
    width: int = 12
    height: int = 8
    stacked: bool = False

    def __post_init__(self) -> None:
        if not self.queries:
            raise ValueError(f"panel {self.title!r} has no query")
        if not 1 <= self.width <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width must be 1..{GRID_WIDTH}")

    def render(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        custom: dict[str, Any] = {}
        if self.kind == "timeseries":
            custom = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 20 if self.stacked else 0,
                "stacking": {"mode": "normal" if self.stacked else "none", "group": "A"},
            }
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": _DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "fieldConfig": {"defaults": {"unit": self.unit, "custom": custom}, "overrides": []},
            "options": _options(self.kind),
            "targets": [
                {
                    "refId": chr(ord("A") + index),
                    "datasource": _DATASOURCE,
                    "expr": query.expr,
                    "legendFormat": query.legend or "__auto",
                    "range": True,
                }
                for index, query in enumerate(self.queries)
            ],
        }


def _options(kind: PanelType) -> dict[str, Any]:
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "area"}
    return {"reduceOptions": reduce, "orientation": "horizontal", "displayMode": "gradient"}


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ("todo-platform",)

    def panels(self) -> list[Panel]:
        return [panel for row in self.rows for panel in row.panels]

    def render(self, namespace: str) -> dict[str, Any]:
        panels: list[dict[str, Any]] = []
        y = 0
        for row in self.rows:
            panels.append(
                {
                    "id": len(panels) + 1,
                    "type": "row",
                    "title": row.title,
                    "collapsed": False,
                    "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
                    "panels": [],
                }
            )
            y += 1
            x, line_height = 0, 0
            for panel in row.panels:
                if x + panel.width > GRID_WIDTH:
                    x, y, line_height = 0, y + line_height, 0
                panels.append(panel.render(len(panels) + 1, x, y))
                x += panel.width
                line_height = max(line_height, panel.height)
            y += line_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "utc",
            "editable": False,
            "graphTooltip": 1,
            "refresh": "30s",
            "schemaVersion": SCHEMA_VERSION,
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": variables(namespace)},
            "annotations": {"list": []},
            "links": [],
            "panels": panels,
        }

    def json(self, namespace: str) -> str:
        return json.dumps(self.render(namespace), indent=2, sort_keys=True)


def variables(namespace: str) -> list[dict[str, Any]]:
    """``datasource`` (any Prometheus) and ``namespace`` (the app's, by default)."""
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {"text": "Prometheus", "value": "prometheus"},
            "hide": 0,
        },
        {
            "name": "namespace",
            "label": "Namespace",
            "type": "custom",
            "query": namespace,
            "current": {"text": namespace, "value": namespace},
            "options": [{"text": namespace, "value": namespace, "selected": True}],
            "hide": 0,
        },
    ]
