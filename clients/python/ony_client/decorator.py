"""``@require_approval``: a function that runs only once a human approved it."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Optional, TypeVar, Union, cast

from .client import Client
from .errors import OnyError
from .types import Handoff

F = TypeVar("F", bound=Callable[..., Any])

Text = Union[str, Callable[..., str]]
"""A fixed text, or a function of the gated call's arguments that makes it."""


class NotApproved(OnyError):
    """The gated function did not run: the handoff was not approved. ``handoff`` is its last view."""

    def __init__(self, message: str, handoff: Handoff) -> None:
        super().__init__(message)
        self.handoff = handoff
        decision = handoff.get("decision")
        self.comment: Optional[str] = decision.get("comment") if decision else None
        """The approver's comment, when there was one."""


class Denied(NotApproved):
    """An approver (or the org's policy) denied it."""


class Expired(NotApproved):
    """Nobody decided in time: the handoff expired, or the wait ended first (then it is withdrawn)."""


class Cancelled(NotApproved):
    """The handoff was withdrawn (``POST /v1/handoffs/{id}/cancel``) before anyone decided."""


def _text(value: Optional[Text], args: Any, kwargs: Any) -> Optional[str]:
    return value(*args, **kwargs) if callable(value) else value


def _describe(handoff: Handoff) -> str:
    decision = handoff.get("decision")
    if not decision:
        return ""
    by = decision.get("decided_by")
    who = by.get("name") if by else "policy"
    comment = decision.get("comment")
    return f" by {who} via {decision.get('channel')}" + (f": {comment}" if comment else "")


def require_approval(
    client: Client,
    *,
    action: Union[str, Mapping[str, Any]],
    title: Text,
    target: Optional[Text] = None,
    summary: Optional[Text] = None,
    payload: Optional[Text] = None,
    payload_kind: Optional[str] = None,
    timeout_s: Optional[int] = None,
    wait: Optional[float] = None,
    context: Optional[Mapping[str, str]] = None,
    on_pending: Optional[Callable[[Handoff], None]] = None,
) -> Callable[[F], F]:
    """Gates a function behind a human's approval.

    Each call creates a handoff (``title``, ``target``, ``summary`` and ``payload`` may be functions
    of the call's arguments), waits for the decision (through server restarts, until the handoff
    expires or ``wait`` seconds pass), and runs the function only when it was approved. Otherwise it
    raises ``Denied``, ``Expired`` or ``Cancelled`` (all ``NotApproved``, with the handoff and the
    approver's comment); a wait that ends first, or a KeyboardInterrupt, withdraws the handoff so no
    approver is asked any more. ``on_pending(handoff)`` is called once a human is being asked (e.g. to
    log its ``short_code``). API errors raise ``OnyApiError`` / ``OnyNetworkError``.

        @require_approval(ony, action="db.query", title="Purge old sessions", target="prod-db")
        def purge() -> int: ...
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def gated(*args: Any, **kwargs: Any) -> Any:
            created = client.create(
                action,
                _text(title, args, kwargs) or fn.__name__,
                target=_text(target, args, kwargs),
                summary=_text(summary, args, kwargs),
                payload=_text(payload, args, kwargs),
                payload_kind=payload_kind,
                timeout_s=timeout_s,
                context=context,
            )
            final = created
            if created["status"] == "pending":
                if on_pending is not None:
                    on_pending(created)
                try:
                    final = client.wait_for_decision(created, timeout=wait)
                except BaseException:
                    _withdraw(client, created)
                    raise
                if final["status"] == "pending":
                    _withdraw(client, final)
                    raise Expired(f"no decision on {final['short_code']} within the wait; withdrawn", final)
            status = final["status"]
            code = final["short_code"]
            if status == "approved":
                return fn(*args, **kwargs)
            if status == "denied":
                raise Denied(f"{code} was denied{_describe(final)}", final)
            if status == "cancelled":
                raise Cancelled(f"{code} was cancelled", final)
            raise Expired(f"{code} expired before anyone decided", final)

        return cast(F, gated)

    return decorate


def _withdraw(client: Client, handoff: Handoff) -> None:
    """Best effort: nobody is waiting for the answer any more."""
    try:
        client.cancel(handoff["id"])
    except OnyError:
        pass
