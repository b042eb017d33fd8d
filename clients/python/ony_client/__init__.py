"""ony-client: ask a human before an agent acts, from Python (standard library only).

    from ony_client import Client, require_approval

    ony = Client("https://ony.example.com", os.environ["ONY_TOKEN"])
    h = ony.create("deploy", "Deploy v42", target="production", idempotency_key="deploy-v42")
    final = ony.wait_for_decision(h)          # long-polls, survives server restarts
"""

from .client import EXPIRY_GRACE_SECONDS, MAX_WAIT_SECONDS, Client, __version__
from .decorator import Cancelled, Denied, Expired, NotApproved, require_approval
from .errors import OnyApiError, OnyError, OnyNetworkError, WebhookVerificationError
from .retry import RetryEvent, is_retryable_status, parse_retry_after, retry_delay_ms
from .types import Handoff, HandoffCallback, HandoffDecision, HandoffOption, HandoffStatus
from .webhook import WEBHOOK_TOLERANCE_SECONDS, sign_webhook, verify_callback, verify_webhook

__all__ = [
    "Cancelled",
    "Client",
    "Denied",
    "EXPIRY_GRACE_SECONDS",
    "Expired",
    "Handoff",
    "HandoffCallback",
    "HandoffDecision",
    "HandoffOption",
    "HandoffStatus",
    "MAX_WAIT_SECONDS",
    "NotApproved",
    "OnyApiError",
    "OnyError",
    "OnyNetworkError",
    "RetryEvent",
    "WEBHOOK_TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "__version__",
    "is_retryable_status",
    "parse_retry_after",
    "require_approval",
    "retry_delay_ms",
    "sign_webhook",
    "verify_callback",
    "verify_webhook",
]
