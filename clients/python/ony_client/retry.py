"""The retry policy of a waiting client, the same as the TypeScript client's (src/client/retry.ts).

Retried: the server cannot be reached (connection refused or reset, a timeout, DNS that does not
answer) and the answers of a server or proxy that is there but not ready: 502, 503, 504, and the
explicitly temporary 408 and 429. A ``Retry-After`` header is obeyed (capped at 30 s). Everything
else (400, 401, 403, 404, 409, 422, ...) is an answer, not an outage: it stops the wait at once.

Back-off: exponential from 250 ms, doubling, capped at 5 s, with "equal jitter" (each delay is drawn
between half and all of the exponential value): 0.125-0.25 s, 0.25-0.5 s, 0.5-1 s, 1-2 s, 2-4 s,
then 2.5-5 s for every further attempt, until the handoff's expiry.

Pure: no I/O, no clock (``now`` and ``random`` are arguments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Optional

BASE_MS = 250
"""The first delay before jitter, in ms."""
CAP_MS = 5_000
"""No delay (before jitter) is longer than this, in ms."""
MAX_RETRY_AFTER_MS = 30_000
"""A server's Retry-After is obeyed up to this, in ms."""

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is an outage (retry) rather than an answer (stop)."""
    return status in RETRYABLE_STATUSES


_DIGITS = re.compile(r"[0-9]+")


def parse_retry_after(value: Optional[str], now_ms: float) -> Optional[int]:
    """A Retry-After header (delta-seconds or an HTTP-date) as a delay in ms from ``now_ms`` (unix
    ms), capped at MAX_RETRY_AFTER_MS; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text):
        return min(int(text) * 1000, MAX_RETRY_AFTER_MS)
    if not re.search(r"[a-z]", text, re.IGNORECASE):
        return None
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if at is None or at.tzinfo is None:
        return None
    delay = at.timestamp() * 1000 - now_ms
    return int(min(max(0.0, delay), MAX_RETRY_AFTER_MS))


def retry_delay_ms(attempt: int, random: float, retry_after_ms: Optional[int] = None) -> int:
    """The delay before retry number ``attempt`` (1 for the first retry): capped exponential with
    equal jitter, or the server's Retry-After when it gave one. ``random`` is in [0, 1)."""
    if retry_after_ms is not None:
        return retry_after_ms
    exp = min(CAP_MS, BASE_MS * 2 ** max(0, min(attempt - 1, 30)))
    # JavaScript's Math.round (half up), not Python's banker's rounding.
    return int(exp / 2 + (exp / 2) * random + 0.5)


@dataclass(frozen=True)
class RetryEvent:
    """What a waiting client reports before each retry (for logs and progress notes)."""

    attempt: int
    """1 for the first retry in a row."""
    delay_ms: int
    """How long the client waits before trying again, in ms."""
    reason: str
    """What went wrong, in a few words: ``ECONNREFUSED``, ``HTTP 503``, ..."""
    error: BaseException
