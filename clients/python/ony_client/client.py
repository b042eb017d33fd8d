"""The agent side of the handoff API (``/v1/handoffs``) over ``urllib.request``: no dependencies."""

from __future__ import annotations

import errno
import http.client
import json
import math
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

from .errors import OnyApiError, OnyError, OnyNetworkError, parse_problem
from .retry import RetryEvent, is_retryable_status, parse_retry_after, retry_delay_ms
from .types import Handoff, HandoffOption, is_handoff

__version__ = "0.1.0"

MAX_WAIT_SECONDS = 60
"""The longest long-poll the server holds (``GET /v1/handoffs/{id}?wait=``)."""
EXPIRY_GRACE_SECONDS = 15
"""How long past a handoff's expiry a wait keeps retrying, so the server can record the expiry."""

_ERRNO_NAMES = {
    errno.ECONNREFUSED: "ECONNREFUSED",
    errno.ECONNRESET: "ECONNRESET",
    errno.ECONNABORTED: "ECONNABORTED",
    errno.EPIPE: "EPIPE",
    errno.ETIMEDOUT: "ETIMEDOUT",
    errno.EHOSTUNREACH: "EHOSTUNREACH",
    errno.ENETUNREACH: "ENETUNREACH",
    errno.ENETDOWN: "ENETDOWN",
}


def _transport_reason(err: BaseException) -> str:
    """A few words for a transport failure: ``ECONNREFUSED``, ``ETIMEDOUT``, ..."""
    inner: BaseException = err
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        inner = err.reason
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return "ETIMEDOUT"
    if isinstance(inner, socket.gaierror):
        return "EAI_AGAIN" if inner.errno == socket.EAI_AGAIN else "ENOTFOUND"
    if isinstance(inner, http.client.RemoteDisconnected):
        return "ECONNRESET"
    if isinstance(inner, OSError) and inner.errno in _ERRNO_NAMES:
        return _ERRNO_NAMES[inner.errno]
    if isinstance(inner, http.client.IncompleteRead):
        return "ECONNRESET"
    return f"{type(inner).__name__}: {inner}"


def _is_tls_error(err: BaseException) -> bool:
    inner = err.reason if isinstance(err, urllib.error.URLError) else err
    return isinstance(inner, (ssl.SSLError, ssl.CertificateError))


def _failure_kind(err: OnyError) -> str:
    """``outage`` (retry until the wait ends), ``server_error`` (retry a few times) or ``final``."""
    if isinstance(err, OnyNetworkError):
        return "outage" if err.transient else "server_error"
    if isinstance(err, OnyApiError):
        if is_retryable_status(err.status):
            return "outage"
        return "server_error" if err.status >= 500 else "final"
    return "final"


def _reason_of(err: OnyError) -> str:
    if isinstance(err, OnyApiError):
        return f"HTTP {err.status}"
    if isinstance(err, OnyNetworkError):
        return err.reason
    return str(err)


def _parse_time(value: str) -> Optional[float]:
    """An ISO 8601 timestamp (``2026-12-07T10:40:00.000Z``) as unix seconds; None when unreadable."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Client:
    """A client of one ony server, with one device token (``ony_dev_...``).

    >>> ony = Client("https://ony.example.com", os.environ["ONY_TOKEN"])
    >>> h = ony.create("deploy", "Deploy v42", target="production", idempotency_key="deploy-v42")
    >>> final = ony.wait_for_decision(h, timeout=600)
    >>> final["status"]   # approved | denied | expired | cancelled | pending (the wait ended first)
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_timeout: float = 30.0,
        opener: Optional[urllib.request.OpenerDirector] = None,
    ) -> None:
        """``url`` is the server's base URL (a path prefix is kept); ``request_timeout`` (seconds) is
        how long one request may take beyond any long-poll wait; ``opener`` defaults to urllib's
        (which honours ``HTTPS_PROXY`` / ``NO_PROXY``)."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"ony URL must start with http:// or https://, got {url!r}")
        if token.strip() == "":
            raise ValueError("ony token is empty (a device token looks like ony_dev_...)")
        self.url = url.rstrip("/")
        self._token = token
        self._request_timeout = request_timeout
        self._opener = opener if opener is not None else urllib.request.build_opener()

    # -- requests -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        extra_timeout: float = 0.0,
    ) -> Handoff:
        url = f"{self.url}{path}"
        all_headers: Dict[str, str] = {
            "Accept": "application/json, application/problem+json",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": f"ony-client-python/{__version__}",
            **(headers or {}),
        }
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with self._opener.open(req, timeout=self._request_timeout + extra_timeout) as resp:
                status = int(resp.status)
                text = resp.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as err:
            try:
                error_text = err.read().decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                error_text = ""
            raise parse_problem(err.code, str(err.reason or ""), error_text, err.headers.get("Retry-After")) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            reason = _transport_reason(err)
            raise OnyNetworkError(
                f"cannot reach ony at {self.url}: {reason}", transient=not _is_tls_error(err), reason=reason
            ) from err
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            raise OnyNetworkError(
                f"{method} {url} answered {status} with a body that is not JSON (is the URL the ony server?)",
                transient=False,
            ) from None
        if not is_handoff(parsed):
            raise OnyNetworkError(f"{method} {url} answered {status} with something that is not a handoff", transient=False)
        handoff: Handoff = parsed
        return handoff

    @staticmethod
    def _path(handoff_id: str) -> str:
        return f"/v1/handoffs/{urllib.parse.quote(handoff_id, safe='')}"

    # -- the API ------------------------------------------------------------------------------

    def create(
        self,
        action: Union[str, Mapping[str, Any]],
        title: str,
        *,
        target: Optional[str] = None,
        summary: Optional[str] = None,
        payload: Optional[str] = None,
        payload_kind: Optional[str] = None,
        options: Optional[Sequence[HandoffOption]] = None,
        timeout_s: Optional[int] = None,
        callback_url: Optional[str] = None,
        context: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> Handoff:
        """Asks for approval (``POST /v1/handoffs``) and answers the handoff (its ``status`` is
        ``approved`` at once when the org's policy allows the action).

        ``action`` is an action type (``deploy``, ``shell.exec``, ``db.query``, ...) or the whole
        action object (``{"type": "payment", "amount": 12.5, "currency": "EUR"}``). ``payload`` (at
        most 1 MiB, stored encrypted, never sent to a channel) has the kind ``payload_kind``
        (``command``, ``sql``, ``diff``, ``text``...; default ``text``). ``idempotency_key`` makes
        the call safe to retry: the same key and body answer the same handoff; the same key with
        another body is a 422.
        """
        action_body: Dict[str, Any] = {"type": action} if isinstance(action, str) else dict(action)
        if target is not None:
            action_body["target"] = target
        body: Dict[str, Any] = {"action": action_body, "title": title}
        if summary is not None:
            body["summary"] = summary
        if payload is not None:
            body["payload"] = {"kind": payload_kind or "text", "content": payload}
        if options is not None:
            body["options"] = [dict(o) for o in options]
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        if callback_url is not None:
            body["callback_url"] = callback_url
        if context is not None:
            body["context"] = dict(context)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return self._request("POST", "/v1/handoffs", body, headers)

    def get(self, handoff_id: str, wait: Optional[float] = None) -> Handoff:
        """Reads a handoff; with ``wait`` (0..60 s) the server answers as soon as it is no longer
        pending, or after that long (a long-poll)."""
        if wait is None:
            return self._request("GET", self._path(handoff_id))
        seconds = min(MAX_WAIT_SECONDS, max(0, math.ceil(wait)))
        return self._request("GET", f"{self._path(handoff_id)}?wait={seconds}", extra_timeout=seconds)

    def cancel(self, handoff_id: str) -> Handoff:
        """Withdraws a pending handoff (no approver is asked any more) and answers it; cancelling a
        cancelled one answers it again. One already decided or expired is a 409 OnyApiError."""
        return self._request("POST", f"{self._path(handoff_id)}/cancel")

    def wait_for_decision(
        self,
        handoff: Union[str, Handoff],
        timeout: Optional[float] = None,
        *,
        max_consecutive_errors: int = 5,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> Handoff:
        """Long-polls until the handoff leaves ``pending`` or ``timeout`` seconds pass, and answers
        the last view: check ``status``, it may still be ``pending``. ``timeout=None`` waits until
        the handoff's ``expires_at`` (plus 15 s for the server to record the expiry).

        Pass the handoff ``create`` answered (or an id): its ``expires_at`` bounds the retries, and
        it is what is answered when the wait ends while the server is unreachable.

        An outage (connection refused or reset, timeouts, 502, 503, 504, 408, 429) is retried with
        capped, jittered back-off (250 ms doubling to 5 s; ``Retry-After`` obeyed up to 30 s) until
        the wait ends or the handoff's expiry passes. Another 5xx is retried
        ``max_consecutive_errors`` times in a row, then raised. Any other 4xx is raised at once.
        With only an id, ``timeout=None`` and a server that cannot be reached before the handoff
        was seen once, nothing bounds the retries: the error is raised.
        """
        last: Optional[Handoff] = None if isinstance(handoff, str) else handoff
        handoff_id = handoff if isinstance(handoff, str) else handoff["id"]
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        failures = 0
        server_errors = 0
        while True:
            started = time.monotonic()
            remaining = None if deadline is None else deadline - started
            wait_s = MAX_WAIT_SECONDS if remaining is None else min(MAX_WAIT_SECONDS, max(0, math.ceil(remaining)))
            try:
                last = self.get(handoff_id, wait=wait_s)
                failures = 0
                server_errors = 0
            except OnyError as err:
                kind = _failure_kind(err)
                if kind == "final":
                    raise
                if kind == "server_error":
                    server_errors += 1
                    if server_errors >= max_consecutive_errors:
                        raise
                until = self._retry_until(deadline, last)
                now = time.monotonic()
                if until is None or now >= until:
                    if last is not None:
                        return last
                    raise
                failures += 1
                retry_after = parse_retry_after(err.retry_after, time.time() * 1000) if isinstance(err, OnyApiError) else None
                delay_ms = min(retry_delay_ms(failures, random.random(), retry_after), int((until - now) * 1000))
                if on_retry is not None:
                    on_retry(RetryEvent(attempt=failures, delay_ms=delay_ms, reason=_reason_of(err), error=err))
                time.sleep(delay_ms / 1000)
                continue
            if last["status"] != "pending":
                return last
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return last
            if deadline is None:
                expiry = self._retry_until(None, last)
                if expiry is not None and now >= expiry:
                    return last
            # A server (or proxy) that answers a long-poll early must not turn this into a busy loop.
            if wait_s > 0 and now - started < 1:
                time.sleep(min(1.0, max(0.0, (deadline - now) if deadline is not None else 1.0)))

    @staticmethod
    def _retry_until(deadline: Optional[float], last: Optional[Handoff]) -> Optional[float]:
        """The monotonic time the retries stop: the wait's end, and not long past the handoff's expiry."""
        expires = _parse_time(last["expires_at"]) if last is not None else None
        if expires is None:
            return deadline
        until = time.monotonic() + (expires + EXPIRY_GRACE_SECONDS - time.time())
        return until if deadline is None else min(deadline, until)
