"""Browsers' Web Push subscriptions: add one (validated), list, remove, and forget the ones the
push service says are gone (404/410, RFC 8030 section 7.3)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.notification_models import PushSubscription
from app.core.db.owned import oldest_first
from app.notifications.targets import TargetRefused, check_target

# Per user: a person's browsers and devices, with room for stale ones the push service has not
# reported gone yet. Bounded so one account cannot make every reminder fan out without limit.
MAX_SUBSCRIPTIONS: Final = 10
AUTH_SECRET_BYTES: Final = 16  # RFC 8291 section 3.2
P256_POINT_BYTES: Final = 65  # an uncompressed P-256 point (RFC 8291 section 3.1)


class SubscriptionRefused(ValueError):
    """A subscription that cannot be stored; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TooManySubscriptions(Exception):
    pass


@dataclass(frozen=True, slots=True)
class NewSubscription:
    endpoint: str
    p256dh: str
    auth: str


def b64url_decode(text: str) -> bytes:
    """base64url without padding, as the Push API's ``toJSON()`` gives the keys."""
    if not text or len(text) > 200 or not text.isascii():
        raise ValueError("empty or too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def validated(endpoint: str, p256dh: str, auth: str, *, allow_loopback: bool) -> NewSubscription:
    """The subscription if the endpoint passes the send rule and the keys are what RFC 8291
    needs (a point on P-256, a 16-byte secret); else :class:`SubscriptionRefused`."""
    try:
        check_target(endpoint, allow_loopback=allow_loopback)
    except TargetRefused as refused:
        raise SubscriptionRefused("endpoint", str(refused)) from None
    # Imported here, where a key is checked (the API): the notifier also uses this module and
    # should not load cryptography at start without the push channel.
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = b64url_decode(p256dh)
        if len(point) != P256_POINT_BYTES:
            raise ValueError("wrong length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise SubscriptionRefused(
            "keys.p256dh", "must be an uncompressed P-256 public key, base64url-encoded"
        ) from None
    try:
        if len(b64url_decode(auth)) != AUTH_SECRET_BYTES:
            raise ValueError("wrong length")
    except (ValueError, binascii.Error):
        raise SubscriptionRefused(
            "keys.auth", f"must be {AUTH_SECRET_BYTES} bytes, base64url-encoded"
        ) from None
    return NewSubscription(endpoint=endpoint, p256dh=p256dh, auth=auth)


async def subscribe(
    session: AsyncSession, owner: uuid.UUID, new: NewSubscription
) -> PushSubscription:
    """Store ``new`` for ``owner`` (the caller commits): the same endpoint again replaces its
    keys; a new one beyond :data:`MAX_SUBSCRIPTIONS` is refused."""
    row = await session.scalar(
        select(PushSubscription).where(
            PushSubscription.owner_id == owner, PushSubscription.endpoint == new.endpoint
        )
    )
    if row is None:
        count = await session.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.owner_id == owner)
        )
        if (count or 0) >= MAX_SUBSCRIPTIONS:
            raise TooManySubscriptions(
                f"at most {MAX_SUBSCRIPTIONS} browsers per account; remove one first"
            )
        row = PushSubscription(id=uuid.uuid4(), owner_id=owner, endpoint=new.endpoint)
        session.add(row)
    row.p256dh = new.p256dh
    row.auth = new.auth
    row.created_at = datetime.now(UTC)
    await session.flush()
    return row


async def listed(session: AsyncSession, owner: uuid.UUID) -> list[PushSubscription]:
    return await oldest_first(session, PushSubscription, owner)


async def remove(session: AsyncSession, owner: uuid.UUID, subscription_id: uuid.UUID) -> bool:
    """Remove the owner's subscription; False when there is no such subscription of theirs."""
    return await _remove(session, owner, PushSubscription.id == subscription_id)


async def remove_endpoint(session: AsyncSession, owner: uuid.UUID, endpoint: str) -> bool:
    """Remove the owner's subscription of one browser, known to that browser by its endpoint
    (it has no id of ours); False when the owner has none for it."""
    if "\x00" in endpoint:
        return False  # no stored endpoint has one, and PostgreSQL cannot compare it
    return await _remove(session, owner, PushSubscription.endpoint == endpoint)


async def _remove(session: AsyncSession, owner: uuid.UUID, which: ColumnElement[bool]) -> bool:
    result = await session.execute(
        delete(PushSubscription).where(which, PushSubscription.owner_id == owner)
    )
    return bool(getattr(result, "rowcount", 0))


async def forget(session: AsyncSession, subscription_ids: Iterable[uuid.UUID]) -> None:
    """Delete subscriptions the push service reported expired (the caller commits)."""
    ids = list(subscription_ids)
    if ids:
        await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))
