"""OpenTelemetry tracing: one trace follows a change from the HTTP call through Kafka.

Each process builds one tracer provider (exporting over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set). The trace context travels inside every event as the
CloudEvents ``traceparent`` extension: producers stamp the current context on the events they
write, consumers continue the trace from the event they handle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_propagator = TraceContextTextMapPropagator()


def tracer_provider(
    service: str, *, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider for ``service``, or None when nothing would receive its spans.

    ``exporter`` is for tests (an in-memory exporter); deployments set the OTLP endpoint.
    """
    if exporter is None and otlp_endpoint is None:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        assert otlp_endpoint is not None
        # Imported here: the exporter brings protobuf and requests, a good share of a worker's
        # start-up, which a process exporting no traces should not pay.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(otlp))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))  # tests: spans at once
    return provider


def instrument_engine(engine: AsyncEngine, provider: TracerProvider | None) -> None:
    """A client span for every SQL statement the engine runs.

    Ten lines of engine events rather than opentelemetry-instrumentation-sqlalchemy, which
    refuses SQLAlchemy 2.1.
    """
    if provider is None:
        return
    tracer = provider.get_tracer("todo-platform.sql")
    system = engine.dialect.name

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        operation = statement.lstrip().split(" ", 1)[0].upper()
        context._otel_span = tracer.start_span(
            f"{operation} {system}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement},
        )

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = getattr(context, "_otel_span", None)
        if span is not None:
            span.end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, "_otel_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(StatusCode.ERROR)
            span.end()


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, to stamp on the events being written."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> Context:
    """The trace context an event carries (an empty context when it carries none)."""
    if not traceparent:
        return Context()
    return _propagator.extract({"traceparent": traceparent})


@contextmanager
def continue_trace(
    provider: TracerProvider | None,
    name: str,
    traceparent: str | None,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    attributes: dict[str, str] | None = None,
) -> Iterator[Span]:
    """A span for work caused by an event, child of the span that wrote the event."""
    tracer = (provider or trace.get_tracer_provider()).get_tracer("todo-platform")
    token = otel_context.attach(context_of(traceparent))
    try:
        with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span
    finally:
        otel_context.detach(token)


@dataclass(frozen=True, slots=True)
class SpanStart:
    """One span of :func:`spans_for_each`: its name, the traceparent it continues, attributes."""

    name: str
    traceparent: str | None
    attributes: dict[str, str] = field(default_factory=dict)


@contextmanager
def spans_for_each(
    provider: TracerProvider | None, kind: SpanKind, starts: Sequence[SpanStart]
) -> Iterator[None]:
    """One span per item of work done for many items at once (a relay batch, a bulk handler).

    Each continues its own item's trace, so every trace shows the work; none becomes the current
    span (the items belong to different traces). If the block raises, every span records the
    error. Without a provider nothing is recorded.
    """
    if provider is None or not starts:
        yield
        return
    tracer = provider.get_tracer("todo-platform")
    spans = [
        tracer.start_span(
            start.name,
            context=context_of(start.traceparent),
            kind=kind,
            attributes=start.attributes,
        )
        for start in starts
    ]
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        for span in spans:
            span.end()


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) a traceparent names, for a log line written outside its span."""
    span_context = trace.get_current_span(context_of(traceparent)).get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def current_trace_id() -> str | None:
    """The active trace id as 32 hex digits, for log lines."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
