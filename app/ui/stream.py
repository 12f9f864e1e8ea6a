"""The live stream of the UI: Server-Sent Events with the signed-in user's notices.

Authenticated by the session cookie (EventSource sends cookies; it cannot send headers). A
stream ends after :data:`MAX_STREAM_S`, and the browser reconnects by itself, which checks the
session again: an expired or logged-out session cannot keep a stream open, and long-lived
connections spread over the replicas as they come and go.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.api.deps import DbSession
from app.api.problems import Problem
from app.ui.live import LiveHub, LiveNotice, Subscription, TooManyStreams
from app.ui.session import Visit, owner_of

router = APIRouter(prefix="/ui", include_in_schema=False)

HEARTBEAT_S: Final = 15.0  # below the 60 s idle timeout of common proxies
MAX_STREAM_S: Final = 300.0
RECONNECT_MS: Final = 3000


def hub_of(request: Request) -> LiveHub:
    hub = getattr(request.app.state, "live", None)
    if not isinstance(hub, LiveHub):
        raise Problem(503, "Live updates unavailable", "this server runs no live hub")
    return hub


def frame(notice: LiveNotice) -> str:
    return f"event: {notice.kind}\ndata: {json.dumps(notice.data, separators=(',', ':'))}\n\n"


async def stream_frames(
    subscription: Subscription, max_seconds: float
) -> AsyncGenerator[str, None]:
    """One stream's text/event-stream frames: "ready", then the subscription's notices and
    heartbeats, for at most ``max_seconds`` (the page reconnects)."""
    # "ready" tells the page its stream is live: after a reconnect it reloads the list,
    # since notices sent while it was away are gone.
    yield f"retry: {RECONNECT_MS}\nevent: ready\ndata: {{}}\n\n"
    deadline = time.monotonic() + max_seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            async with asyncio.timeout(min(HEARTBEAT_S, left)):
                notice = await subscription.next()
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        yield frame(notice)


class LiveStreamResponse(StreamingResponse):
    """A stream holding a slot taken before the response was returned: the slot is given back
    when the response ends, also when it ends before its body started (the client left)."""

    def __init__(self, hub: LiveHub, subscription: Subscription, max_seconds: float) -> None:
        super().__init__(
            stream_frames(subscription, max_seconds),
            media_type="text/event-stream",
            headers={
                "Cache-Control": "no-store",
                # nginx (the ingress) would otherwise buffer the stream and hold notices back.
                "X-Accel-Buffering": "no",
            },
        )
        self._hub = hub
        self._subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._hub.close(self._subscription)


@router.get("/events")
async def events(request: Request, person: Visit, db: DbSession) -> Response:
    if person.user is None:
        raise Problem(401, "Unauthorized", "sign in first")
    hub = hub_of(request)
    owner_id = owner_of(person)
    # The slot is taken now, with the check: taken only once the body started, parallel opens
    # all passed the check and those over the cap died mid-stream.
    try:
        subscription = hub.open(owner_id)
    except TooManyStreams:
        raise Problem(
            429, "Too many live streams", f"at most {hub.max_streams_per_owner} per user"
        ) from None
    try:
        # The database is not needed while streaming: give the connection back to the pool.
        await db.close()
    except BaseException:
        hub.close(subscription)
        raise
    return LiveStreamResponse(hub, subscription, MAX_STREAM_S)
