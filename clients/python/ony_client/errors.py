"""The exceptions of the client."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional


class OnyError(Exception):
    """The base of every exception this package raises."""


class OnyApiError(OnyError):
    """The server answered with a 4xx/5xx status; carries its problem+json (RFC 9457) fields."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        problem: Optional[Mapping[str, Any]] = None,
        retry_after: Optional[str] = None,
    ) -> None:
        super().__init__(f"{detail} (HTTP {status}, {code})")
        self.status = status
        """The HTTP status."""
        self.code = code
        """The problem's machine-readable ``code``, or ``http_<status>`` when it was not problem+json."""
        self.detail = detail
        """A human-readable explanation (the problem's ``detail``, else its ``title``, else the status)."""
        self.problem: Optional[Mapping[str, Any]] = problem
        """The parsed problem document (with its extension members, e.g. ``errors``), when there was one."""
        self.retry_after = retry_after
        """The answer's ``Retry-After`` header (503, 429), when it had one."""

    @property
    def type(self) -> Optional[str]:
        value = self.problem.get("type") if self.problem is not None else None
        return value if isinstance(value, str) else None

    @property
    def title(self) -> Optional[str]:
        value = self.problem.get("title") if self.problem is not None else None
        return value if isinstance(value, str) else None


class OnyNetworkError(OnyError):
    """The server could not be reached, the request timed out, or the answer was not the API's."""

    def __init__(self, message: str, *, transient: bool = True, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message
        """What went wrong, in a few words: ``ECONNREFUSED``, ``ETIMEDOUT``, ..."""
        self.transient = transient
        """True when the server could not be reached or did not answer in time (worth retrying);
        False for an answer that is not the API's (a wrong URL, a proxy's page, a TLS error)."""


class WebhookVerificationError(OnyError):
    """A decision callback whose signature, timestamp or body does not check out."""


def parse_problem(status: int, reason: str, body: str, retry_after: Optional[str] = None) -> OnyApiError:
    """Builds the OnyApiError for a non-2xx answer from its status, reason phrase and body text."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    fallback = reason if reason.strip() != "" else f"HTTP {status}"
    if not isinstance(parsed, dict):
        text = body.strip()[:200]
        return OnyApiError(status, f"http_{status}", f"{fallback}: {text}" if text else fallback, None, retry_after)

    def text_of(key: str) -> Optional[str]:
        value = parsed.get(key)
        return value if isinstance(value, str) and value.strip() != "" else None

    detail = text_of("detail") or text_of("title") or text_of("message") or fallback
    code = text_of("code") or f"http_{status}"
    return OnyApiError(status, code, detail, parsed, retry_after)
