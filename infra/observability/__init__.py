"""Observability as code: alert rules, Alertmanager routing and dashboards.

The seam for the monitoring component (``infra/platform/monitoring.py``):

- :func:`rule_groups` → ``MonitoringArgs.rules`` (``PrometheusRule`` groups),
- :func:`dashboards` → ``MonitoringArgs.dashboards`` (one ConfigMap per dashboard),
- :func:`alertmanager_config` → kube-prometheus-stack's ``alertmanager.config``.

Everything here is plain data built with the standard library only. The metric names come from
the catalog the processes export from, :mod:`app.observability.catalog`.
"""

from infra.observability.alertmanager import (
    EmailReceiver,
    SlackReceiver,
    Timings,
    alertmanager_config,
)
from infra.observability.alerts import Thresholds, rule_groups
from infra.observability.dashboards import dashboards

__all__ = [
    "EmailReceiver",
    "SlackReceiver",
    "Thresholds",
    "Timings",
    "alertmanager_config",
    "dashboards",
    "rule_groups",
]
