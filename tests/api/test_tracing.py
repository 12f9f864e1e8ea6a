"""The API's request span is the parent of its SQL spans and of the events it writes."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.core.events.contract import CloudEvent
from app.main import create_app
from tests.api.conftest import Api, api_settings


async def test_events_carry_the_request_trace(api: Api) -> None:
    spans = InMemorySpanExporter()
    app = create_app(api_settings(api.settings.database_url), span_exporter=spans)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = await Api(
                api.backend, client, api.engine, api.sessions, api.settings, transport
            ).new_user()
            incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            created = await client.post(
                "/tasks", json={"title": "traced"}, headers={**headers, "traceparent": incoming}
            )
            assert created.status_code == 201
    # The provider flushed its batch at shutdown.
    event = CloudEvent.model_validate((await api.events_for(created.json()["id"]))[0].payload)
    assert event.traceparent is not None
    _, trace_id, parent_span_id, _ = event.traceparent.split("-")
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"  # continues the caller's trace

    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind == SpanKind.SERVER and "/tasks" in s.name]
    assert len(server) == 1
    assert format(server[0].context.trace_id, "032x") == trace_id
    assert format(server[0].context.span_id, "016x") == parent_span_id
    sql = [s for s in finished if s.attributes and "db.statement" in s.attributes]
    inserts = [
        s for s in sql if str((s.attributes or {})["db.statement"]).startswith("INSERT INTO tasks")
    ]
    assert len(inserts) == 1
    assert inserts[0].context.trace_id == server[0].context.trace_id


async def test_malformed_incoming_traceparent_is_ignored(api: Api, user: dict[str, str]) -> None:
    created = await api.client.post(
        "/tasks", json={"title": "t"}, headers={**user, "traceparent": "garbage"}
    )
    assert created.status_code == 201
    event = CloudEvent.model_validate((await api.events_for(created.json()["id"]))[0].payload)
    assert event.traceparent is None
