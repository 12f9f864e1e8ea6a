"""VAPID key pairs (RFC 8292): the notifier signs with the private key, browsers are given the
public key (the ``applicationServerKey`` of their subscription) and push services check the
signature against it. Both are P-256 keys written as base64url: the private key as its raw 32
bytes, the public key as its 65-byte uncompressed point, the form browsers take."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_of(private: ec.EllipticCurvePrivateKey) -> str:
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def generate() -> tuple[str, str]:
    """A new (private, public) key pair."""
    private = ec.generate_private_key(ec.SECP256R1())
    return b64url(private.private_numbers().private_value.to_bytes(32, "big")), public_key_of(
        private
    )


def public_key_from_private(private_b64: str) -> str:
    """The public key of a private key in the settings' form; ValueError if it is not one."""
    raw = base64.urlsafe_b64decode(private_b64 + "=" * (-len(private_b64) % 4))
    if len(raw) != 32:
        raise ValueError("a VAPID private key is 32 bytes, base64url-encoded")
    return public_key_of(ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()))
