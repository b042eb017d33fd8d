"""Verification of ony's signed decision callbacks, the receiver's side (Standard Webhooks v1,
symmetric scheme), exactly as the server signs them (src/client/webhook.ts).

Headers: ``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, space-separated when several). The key
is the base64 part of the device's ``whsec_...`` secret. Timestamps more than 5 minutes off either
way are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any, Dict, Mapping, Optional, Union

from .errors import WebhookVerificationError
from .types import Handoff, HandoffCallback, is_handoff

WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_TOLERANCE_SECONDS = 5 * 60

_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")

HeadersInput = Union[Mapping[str, Any], Any]
"""A mapping of header names to values (matched case-insensitively; a list value is joined with
spaces), or anything with a case-insensitive ``get(name)`` such as ``http.client.HTTPMessage``."""


def webhook_key_of(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret (the prefix is optional)."""
    encoded = secret[len(WEBHOOK_SECRET_PREFIX) :] if secret.startswith(WEBHOOK_SECRET_PREFIX) else secret
    if encoded == "" or not _BASE64.fullmatch(encoded):
        raise ValueError("webhook secret must be whsec_<base64 key>")
    return base64.b64decode(encoded)


def webhook_signature(key: bytes, msg_id: str, seconds: int, body: str) -> str:
    """The base64 signature of one message: HMAC-SHA256(key, "{id}.{seconds}.{body}")."""
    mac = hmac.new(key, f"{msg_id}.{seconds}.{body}".encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def sign_webhook(secret: str, msg_id: str, body: str, now: Optional[float] = None) -> Dict[str, str]:
    """The headers ony sends with ``body`` (for tests of a receiver)."""
    seconds = int(time.time() if now is None else now)
    signature = webhook_signature(webhook_key_of(secret), msg_id, seconds, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(seconds), "webhook-signature": f"v1,{signature}"}


def _header(headers: HeadersInput, name: str) -> Optional[str]:
    if not isinstance(headers, Mapping):
        value = headers.get(name)
        return None if value is None else str(value)
    for key, value in headers.items():
        if not isinstance(key, str) or key.lower() != name:
            continue
        if isinstance(value, (list, tuple)):
            # A header sent twice arrives as a list: several signatures are space-separated anyway.
            return " ".join(str(v) for v in value)
        return None if value is None else str(value)
    return None


def _safe_equal(a: str, b: str) -> bool:
    # Hashing first: no early exit on content or length.
    ha = hashlib.sha256(a.encode("utf-8")).digest()
    hb = hashlib.sha256(b.encode("utf-8")).digest()
    return hmac.compare_digest(ha, hb) and len(a) == len(b)


def verify_webhook(secret: str, headers: HeadersInput, body: str, now: Optional[float] = None) -> None:
    """Raises WebhookVerificationError on missing headers, a timestamp more than 5 minutes from
    ``now`` (unix seconds) either way, or no matching ``v1`` signature. ``body`` is the exact text
    received."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook headers")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookVerificationError("invalid webhook-timestamp")
    seconds = int(timestamp)
    now_seconds = int(time.time() if now is None else now)
    if now_seconds - seconds > WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook timestamp too old")
    if seconds - now_seconds > WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook timestamp too far in the future")
    expected = webhook_signature(webhook_key_of(secret), msg_id, seconds, body)
    matched = False
    for versioned in signatures.split(" "):
        version, comma, signature = versioned.partition(",")
        if not comma or version != "v1":
            continue
        # No early exit: every candidate is compared, in constant time.
        if _safe_equal(signature, expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no matching webhook signature")


def verify_callback(
    secret: str, headers: HeadersInput, body: Union[str, bytes], now: Optional[float] = None
) -> HandoffCallback:
    """Verifies a decision callback with the device's ``whsec_...`` secret and answers
    ``{"type": "handoff.decided", "id": <webhook-id>, "data": <the handoff>}``.

    ``body`` must be the raw bytes (or text) as received, before any JSON parsing. ``id`` is the same
    on every retry of one delivery: use it to drop duplicates. Raises WebhookVerificationError.
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookVerificationError("the callback body is not UTF-8") from None
    else:
        text = body
    verify_webhook(secret, headers, text, now)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        raise WebhookVerificationError("the callback body is not JSON") from None
    if not isinstance(parsed, dict) or parsed.get("type") != "handoff.decided" or not is_handoff(parsed.get("data")):
        raise WebhookVerificationError("the callback body is not a handoff.decided event")
    data: Handoff = parsed["data"]
    return {"type": "handoff.decided", "id": _header(headers, "webhook-id") or "", "data": data}
