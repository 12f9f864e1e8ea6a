"""A local push service: the receiving side of the Web Push protocol, on 127.0.0.1.

It stands in for the browser vendor's push service (Chromium's is Firebase Cloud Messaging,
which only Google's servers speak) and for the user agent's key store, so tests can check what
the notifier really sends:

- RFC 8030 (the push resource): ``POST /push/<id>`` takes a message, needs a ``TTL`` header,
  answers ``201 Created`` with a ``Location``; a subscription marked expired answers ``410 Gone``,
  an unknown one ``404``.
- RFC 8292 (VAPID): the ``Authorization: vapid t=<JWT>, k=<key>`` header is checked: an ES256
  signature by ``k``, ``aud`` = this service's origin, ``exp`` in the future and at most 24 hours
  away, a ``sub`` contact; ``k`` must be the key the subscription was made with
  (``applicationServerKey``). Anything else is ``401``/``403``.
- RFC 8291 + RFC 8188 (message encryption, ``aes128gcm``): the payload is decrypted here with
  the subscription's private key and auth secret, written out from the RFCs with
  ``cryptography``'s primitives rather than with the library the notifier encrypts with, so a
  mistake on either side cannot cancel out.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devtools.testkit.http_stub import LoopbackApp

MAX_TOKEN_LIFETIME_S: Final = 24 * 3600  # RFC 8292 section 2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class PushRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def decrypt_aes128gcm(
    body: bytes, receiver: ec.EllipticCurvePrivateKey, auth_secret: bytes
) -> bytes:
    """RFC 8291 section 3.4 key derivation on an RFC 8188 ``aes128gcm`` body (one record)."""
    if len(body) < 21:
        raise PushRefused(400, "body shorter than the aes128gcm header")
    salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    if id_length != 65:
        raise PushRefused(400, "keyid is not the sender's 65-byte public key (RFC 8291 4)")
    sender_point = body[21 : 21 + id_length]
    ciphertext = body[21 + id_length :]
    if len(ciphertext) > record_size:
        raise PushRefused(400, "more than one record (RFC 8291 4 allows one)")
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_point)
    shared = receiver.exchange(ec.ECDH(), sender)
    key_info = b"WebPush: info\x00" + _point(receiver.public_key()) + sender_point
    ikm = _hkdf(auth_secret, shared, key_info, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    try:
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise PushRefused(
            400, "the payload does not decrypt with the subscription's keys"
        ) from None
    unpadded = padded.rstrip(b"\x00")
    if not unpadded.endswith(b"\x02"):
        raise PushRefused(400, "the last record's delimiter is not 0x02 (RFC 8188 2)")
    return unpadded[:-1]


def verify_vapid(header: str | None, audience: str, now: float) -> tuple[str, dict[str, Any]]:
    """The sender's public key (base64url) and the JWT's claims, if ``header`` is a valid
    RFC 8292 ``vapid`` authorization for ``audience``; else :class:`PushRefused`."""
    if not header or not header.lower().startswith("vapid "):
        raise PushRefused(401, "no vapid Authorization header")
    params = {}
    for part in header[len("vapid ") :].split(","):
        name, _, value = part.strip().partition("=")
        params[name] = value
    token, key = params.get("t", ""), params.get("k", "")
    try:
        signing_input, _, signature = token.rpartition(".")
        head, _, claims_part = signing_input.partition(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            raise PushRefused(401, "the JWT header is not typ JWT, alg ES256")
        claims = json.loads(unb64url(claims_part))
        raw = unb64url(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        raise PushRefused(401, "the VAPID signature does not verify") from None
    if claims.get("aud") != audience:
        raise PushRefused(401, f"aud {claims.get('aud')!r} is not {audience!r}")
    expires = claims.get("exp")
    if not isinstance(expires, int) or not now < expires <= now + MAX_TOKEN_LIFETIME_S:
        raise PushRefused(401, "exp is not within the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise PushRefused(401, "sub is not a mailto: or https: contact")
    return key, claims


@dataclass
class BrowserSubscription:
    """One browser's subscription, as the user agent holds it (private key included)."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str
    expired: bool = False

    @property
    def p256dh(self) -> str:
        return b64url(_point(self.private_key.public_key()))

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def to_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives a page."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }


@dataclass(frozen=True)
class PushedMessage:
    subscription_id: str
    payload: bytes  # decrypted
    received_at: float  # time.time()
    ttl: int
    urgency: str | None
    claims: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.payload)


class PushService(LoopbackApp):
    """The stand-in, started with ``async with``; ``url`` is its origin."""

    def __init__(self) -> None:
        super().__init__([Route("/push/{id}", self._receive, methods=["POST"])])
        self.url = self.root
        self.subscriptions: dict[str, BrowserSubscription] = {}
        self.messages: list[PushedMessage] = []
        self.refusals: list[tuple[int, str]] = []
        self.gone_answers = 0
        # Called with each accepted message (the browser test hands it to the service worker).
        self.on_message: Callable[[PushedMessage], None] | None = None

    def subscribe(self, application_server_key: str) -> BrowserSubscription:
        """A new subscription, as a browser's ``pushManager.subscribe`` would make it."""
        sid = secrets.token_urlsafe(16)
        subscription = BrowserSubscription(
            id=sid,
            endpoint=f"{self.url}/push/{sid}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        self.subscriptions[sid] = subscription
        return subscription

    def received(self, subscription: BrowserSubscription) -> list[PushedMessage]:
        return [m for m in self.messages if m.subscription_id == subscription.id]

    def _accept(
        self, request: Request, body: bytes, subscription: BrowserSubscription
    ) -> PushedMessage:
        ttl = request.headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            raise PushRefused(400, "no TTL header (RFC 8030 5.2)")
        key, claims = verify_vapid(request.headers.get("authorization"), self.url, time.time())
        if key != subscription.application_server_key:
            raise PushRefused(403, "signed by another key than the subscription's (RFC 8292 4.2)")
        if request.headers.get("content-encoding") != "aes128gcm":
            raise PushRefused(415, "Content-Encoding is not aes128gcm (RFC 8291 4)")
        payload = decrypt_aes128gcm(body, subscription.private_key, subscription.auth_secret)
        return PushedMessage(
            subscription_id=subscription.id,
            payload=payload,
            received_at=time.time(),
            ttl=int(ttl),
            urgency=request.headers.get("urgency"),
            claims=claims,
        )

    async def _receive(self, request: Request) -> Response:
        subscription = self.subscriptions.get(request.path_params["id"])
        if subscription is None:
            return Response(status_code=404)
        if subscription.expired:
            self.gone_answers += 1
            return Response(status_code=410)
        try:
            message = self._accept(request, await request.body(), subscription)
        except PushRefused as refused:
            self.refusals.append((refused.status, str(refused)))
            return Response(str(refused), status_code=refused.status)
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)
        location = f"{self.url}/message/{uuid.uuid4()}"
        return Response(status_code=201, headers={"Location": location})
