"""Pure parts of the client, no server: the retry policy's numbers and the callback signature."""

from __future__ import annotations

import base64
import json
import unittest
from email.utils import formatdate

from ony_client import (
    WebhookVerificationError,
    parse_retry_after,
    retry_delay_ms,
    sign_webhook,
    verify_callback,
)
from ony_client.errors import parse_problem

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
HANDOFF = {
    "id": "h1",
    "short_code": "ABCDEF",
    "status": "approved",
    "risk": {"level": "high", "reasons": []},
    "expires_at": "2026-12-07T10:00:00.000Z",
}


class RetryPolicyTest(unittest.TestCase):
    def test_capped_exponential_with_equal_jitter(self) -> None:
        # The same numbers as src/client/retry.ts: 0.125-0.25 s, 0.25-0.5 s, ... then 2.5-5 s.
        self.assertEqual([retry_delay_ms(a, 0) for a in range(1, 8)], [125, 250, 500, 1000, 2000, 2500, 2500])
        self.assertEqual([retry_delay_ms(a, 0.999999) for a in range(1, 8)], [250, 500, 1000, 2000, 4000, 5000, 5000])
        self.assertEqual(retry_delay_ms(1000, 0.5), 3750)
        self.assertEqual(retry_delay_ms(3, 0.5, 7000), 7000)

    def test_retry_after(self) -> None:
        now = 1_000_000_000_000.0
        self.assertEqual(parse_retry_after("1", now), 1000)
        self.assertEqual(parse_retry_after(" 5 ", now), 5000)
        self.assertEqual(parse_retry_after("3600", now), 30_000)
        self.assertEqual(parse_retry_after(formatdate(now / 1000 + 10, usegmt=True), now), 10_000)
        self.assertEqual(parse_retry_after(formatdate(now / 1000 - 10, usegmt=True), now), 0)
        for bad in (None, "", "soon", "-1", "1.5", "12:00"):
            self.assertIsNone(parse_retry_after(bad, now), bad)

    def test_problem_fields(self) -> None:
        body = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "title is too long",
                           "code": "validation_failed", "errors": [{"path": "body/title"}]})
        err = parse_problem(400, "Bad Request", body)
        self.assertEqual((err.status, err.code, err.detail, err.title, err.type), (400, "validation_failed", "title is too long", "Bad Request", "about:blank"))
        self.assertEqual(err.problem["errors"], [{"path": "body/title"}])  # type: ignore[index]
        self.assertIn("title is too long (HTTP 400, validation_failed)", str(err))
        plain = parse_problem(502, "Bad Gateway", "<html>upstream</html>", "3")
        self.assertEqual((plain.code, plain.detail, plain.retry_after), ("http_502", "Bad Gateway: <html>upstream</html>", "3"))


class VerifyCallbackTest(unittest.TestCase):
    body = json.dumps({"type": "handoff.decided", "data": HANDOFF})

    def test_accepts_a_signed_callback_in_any_header_shape(self) -> None:
        headers = sign_webhook(SECRET, "msg_h1", self.body)
        self.assertEqual(verify_callback(SECRET, headers, self.body)["data"]["id"], "h1")
        upper = {k.upper(): v for k, v in headers.items()}
        self.assertEqual(verify_callback(SECRET, upper, self.body.encode())["id"], "msg_h1")
        # Several signatures (a secret being rotated): one match is enough.
        several = dict(headers, **{"webhook-signature": "v1,AAAA v2,zzz " + headers["webhook-signature"]})
        self.assertEqual(verify_callback(SECRET, several, self.body)["type"], "handoff.decided")
        # The secret without its prefix works too.
        self.assertEqual(verify_callback(SECRET[len("whsec_"):], headers, self.body)["id"], "msg_h1")

    def test_refuses_tampering_replays_and_garbage(self) -> None:
        headers = sign_webhook(SECRET, "msg_h1", self.body)
        cases = [
            (SECRET, headers, self.body.replace('"approved"', '"denied"'), "no matching webhook signature"),
            ("whsec_" + base64.b64encode(b"\x07" * 32).decode(), headers, self.body, "no matching webhook signature"),
            (SECRET, dict(headers, **{"webhook-id": "msg_other"}), self.body, "no matching webhook signature"),
            (SECRET, {}, self.body, "missing webhook headers"),
            (SECRET, dict(headers, **{"webhook-timestamp": "12a"}), self.body, "invalid webhook-timestamp"),
            (SECRET, sign_webhook(SECRET, "m", self.body, now=0), self.body, "too old"),
        ]
        for secret, hdrs, body, message in cases:
            with self.assertRaisesRegex(WebhookVerificationError, message):
                verify_callback(secret, hdrs, body)
        future = sign_webhook(SECRET, "m", self.body)
        with self.assertRaisesRegex(WebhookVerificationError, "too far in the future"):
            verify_callback(SECRET, future, self.body, now=float(future["webhook-timestamp"]) - 301)
        for body, message in (("not json", "not JSON"), ('{"type":"x","data":{}}', "not a handoff.decided"), (b"\xff", "not UTF-8")):
            text = body.decode("latin-1") if isinstance(body, bytes) else body
            with self.assertRaisesRegex(WebhookVerificationError, message):
                verify_callback(SECRET, sign_webhook(SECRET, "m", text), body)
        with self.assertRaisesRegex(ValueError, "whsec_<base64 key>"):
            verify_callback("whsec_not base64!", headers, self.body)


if __name__ == "__main__":
    unittest.main()
