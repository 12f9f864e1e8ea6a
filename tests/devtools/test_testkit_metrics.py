"""devtools/testkit/metrics.py: the one /metrics reader, on an exposition written out here."""

from __future__ import annotations

from devtools.testkit.metrics import Samples

EXPOSITION = """\
# HELP todo_events_processed_total Events handled
# TYPE todo_events_processed_total counter
todo_events_processed_total{group="audit",type="task.created"} 3.0
todo_events_processed_total{group="audit",type="task.updated"} 4.0
todo_events_processed_total{group="recurring",type="task.completed"} 2.0
# HELP todo_db_pool_in_use Connections in use
# TYPE todo_db_pool_in_use gauge
todo_db_pool_in_use 1.0
"""


def test_exact_labels_matching_labels_and_totals() -> None:
    samples = Samples.parse(EXPOSITION)
    processed = "todo_events_processed_total"
    assert samples.value(processed, group="audit", type="task.updated") == 4.0
    assert samples.value(processed, group="audit") == 0.0  # no sample has exactly these labels
    assert sorted(samples.matching(processed, group="audit")) == [3.0, 4.0]
    assert samples.total(processed, group="audit") == 7.0
    assert samples.total(processed) == 9.0
    assert samples.value("todo_db_pool_in_use") == 1.0
    assert samples.total("todo_absent_total") == 0.0
