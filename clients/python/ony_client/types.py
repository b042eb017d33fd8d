"""The wire types of the handoff API (a mirror of src/client/index.ts and the server's schemas)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict


HandoffStatus = Literal["pending", "approved", "denied", "expired", "cancelled"]
HANDOFF_STATUSES = ("pending", "approved", "denied", "expired", "cancelled")

ActionType = Literal[
    "shell.exec",
    "git.push",
    "deploy",
    "db.migrate",
    "db.query",
    "payment",
    "email.send",
    "file.delete",
    "file.write",
    "iam.change",
    "other",
]


class HandoffOption(TypedDict):
    id: str
    """``^[a-z0-9_-]{1,32}$``. ``deny`` denies; every other option approves."""
    label: str


class HandoffDecision(TypedDict):
    option: str
    outcome: Literal["approved", "denied"]
    decided_by: Optional[Dict[str, str]]
    """``{"member_id": ..., "name": ...}``, or None (decided by the org's policy)."""
    channel: str
    comment: Optional[str]
    at: str


class Handoff(TypedDict):
    id: str
    short_code: str
    status: HandoffStatus
    action: Dict[str, Optional[str]]
    title: str
    summary: str
    # docs/summarizer.md: "model" when model_summary holds a model's checked summary.
    summary_source: Optional[str]
    model_summary: Optional[str]
    risk: Dict[str, Any]
    options: List[HandoffOption]
    approvals: Dict[str, int]
    totp_required: bool
    decision: Optional[HandoffDecision]
    payload: Dict[str, Optional[str]]
    expires_at: str
    created_at: str
    links: Dict[str, str]


class HandoffCallback(TypedDict):
    type: Literal["handoff.decided"]
    id: str
    """The ``webhook-id`` header: the same on every retry of one delivery."""
    data: Handoff


def is_handoff(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("id"), str)
        and value.get("status") in HANDOFF_STATUSES
        and isinstance(value.get("short_code"), str)
        and isinstance(value.get("risk"), dict)
        and isinstance(value.get("expires_at"), str)
    )
