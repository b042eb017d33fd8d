"""The client against a real ony server (test/clients/python.test.ts starts it and runs these).

The environment gives the server (ONY_TEST_URL), a device token (ONY_TEST_TOKEN) and its webhook
secret (ONY_TEST_WEBHOOK_SECRET), and a host the server may call back (ONY_TEST_CALLBACK_HOST).
An approver acts on the TypeScript side: a test asks for a decision by printing one line,
``@@ony decide <id> <option> <comment>``, on stdout; the driver reads it and decides through the API.
Every wait is bounded by a timeout, as a safety net; none is a fixed sleep.
"""

from __future__ import annotations

import http.server
import os
import queue
import socket
import threading
import unittest
import urllib.error
import urllib.request
import uuid
from typing import Any, List, Optional, Tuple

from ony_client import (
    Client,
    Denied,
    Expired,
    Handoff,
    OnyApiError,
    RetryEvent,
    WebhookVerificationError,
    require_approval,
    verify_callback,
)

URL = os.environ.get("ONY_TEST_URL", "")
TOKEN = os.environ.get("ONY_TEST_TOKEN", "")
SECRET = os.environ.get("ONY_TEST_WEBHOOK_SECRET", "")
CALLBACK_HOST = os.environ.get("ONY_TEST_CALLBACK_HOST", "127.0.0.1")
SAFETY = 30.0


def decide(handoff_id: str, option: str, comment: str = "") -> None:
    """Asks the driver's approver to decide (asynchronously: the test then waits for the decision)."""
    print(f"@@ony decide {handoff_id} {option} {comment}".rstrip(), flush=True)


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


@unittest.skipUnless(URL and TOKEN, "set ONY_TEST_URL and ONY_TEST_TOKEN (test/clients/python.test.ts does)")
class AgainstTheServerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.ony = Client(URL, TOKEN)

    def test_create_is_idempotent_and_wait_returns_the_approval(self) -> None:
        key = f"deploy-{uuid.uuid4()}"
        h = self.ony.create("deploy", "Deploy v42", target="staging", summary="release train", idempotency_key=key)
        self.assertEqual(h["status"], "pending")
        self.assertEqual(self.ony.create("deploy", "Deploy v42", target="staging", summary="release train", idempotency_key=key)["id"], h["id"])
        with self.assertRaises(OnyApiError) as other_body:
            self.ony.create("deploy", "Deploy v43", target="staging", idempotency_key=key)
        self.assertEqual(other_body.exception.status, 422)

        decide(h["id"], "approve", "ship it")
        final = self.ony.wait_for_decision(h, timeout=SAFETY)
        self.assertEqual(final["status"], "approved")
        assert final["decision"] is not None
        self.assertEqual((final["decision"]["outcome"], final["decision"]["comment"]), ("approved", "ship it"))
        self.assertEqual(self.ony.get(h["id"])["status"], "approved")

    def test_decorator_runs_the_function_only_when_approved(self) -> None:
        ran: List[str] = []
        seen: List[Handoff] = []

        def ask(option: str, comment: str) -> Any:
            def on_pending(h: Handoff) -> None:
                seen.append(h)
                decide(h["id"], option, comment)

            @require_approval(self.ony, action="db.query", title=lambda table: unique(f"Purge {table}"),
                              target="prod-db", payload=lambda table: f"DELETE FROM {table};", payload_kind="sql",
                              context={"environment": "production"}, wait=SAFETY, on_pending=on_pending)
            def purge(table: str) -> str:
                ran.append(table)
                return f"purged {table}"

            return purge

        self.assertEqual(ask("approve", "")("sessions"), "purged sessions")
        self.assertEqual(ran, ["sessions"])
        with self.assertRaises(Denied) as denied:
            ask("deny", "not on a Friday")("users")
        self.assertEqual(ran, ["sessions"])  # never ran
        self.assertEqual(denied.exception.comment, "not on a Friday")
        self.assertIn("denied", str(denied.exception))
        self.assertEqual(denied.exception.handoff["id"], seen[-1]["id"])

    def test_decorator_wait_that_ends_first_withdraws_the_handoff(self) -> None:
        seen: List[Handoff] = []

        @require_approval(self.ony, action="deploy", title=unique("nobody answers"), target="staging",
                          wait=1, on_pending=seen.append)
        def deploy() -> None:
            raise AssertionError("must not run")

        with self.assertRaises(Expired):
            deploy()
        self.assertEqual(self.ony.get(seen[0]["id"])["status"], "cancelled")

    def test_cancel(self) -> None:
        h = self.ony.create("deploy", unique("cancel me"), target="staging")
        self.assertEqual(self.ony.cancel(h["id"])["status"], "cancelled")
        self.assertEqual(self.ony.cancel(h["id"])["status"], "cancelled")  # again: the same view
        self.assertEqual(self.ony.wait_for_decision(h, timeout=SAFETY)["status"], "cancelled")
        low = self.ony.create("other", "routine")  # allowed by policy at once
        self.assertEqual(low["status"], "approved")
        with self.assertRaises(OnyApiError) as decided:
            self.ony.cancel(low["id"])
        self.assertEqual((decided.exception.status, decided.exception.code), (409, "conflict"))
        with self.assertRaises(OnyApiError) as unknown:
            self.ony.cancel("00000000-0000-4000-8000-000000000000")
        self.assertEqual((unknown.exception.status, unknown.exception.code), (404, "not_found"))

    def test_signed_callback_is_verified_and_a_tampered_one_refused(self) -> None:
        received: "queue.Queue[Tuple[Any, bytes]]" = queue.Queue()

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                # http.server's headers (an HTTPMessage, case-insensitive get) as a receiver has them.
                received.put((self.headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer((CALLBACK_HOST, 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://{CALLBACK_HOST}:{server.server_address[1]}/hook"
            h = self.ony.create("deploy", unique("call me back"), target="staging", callback_url=url)
            decide(h["id"], "approve", "go")
            headers, body = received.get(timeout=SAFETY)
        finally:
            server.shutdown()
            server.server_close()
        event = verify_callback(SECRET, headers, body)
        # A plain dict of the same headers (names as sent, lower case) works too.
        self.assertEqual(verify_callback(SECRET, dict(headers.items()), body)["data"]["id"], h["id"])
        self.assertEqual((event["type"], event["id"], event["data"]["id"]), ("handoff.decided", f"msg_{h['id']}", h["id"]))
        self.assertEqual(event["data"]["status"], "approved")
        tampered = body.decode().replace('"approved"', '"denied"')
        with self.assertRaisesRegex(WebhookVerificationError, "no matching webhook signature"):
            verify_callback(SECRET, headers, tampered)
        with self.assertRaisesRegex(WebhookVerificationError, "too old"):
            verify_callback(SECRET, headers, body, now=float(headers["webhook-timestamp"]) + 600)

    def test_wait_retries_through_503_a_reset_and_502_then_returns_the_decision(self) -> None:
        # A reverse proxy in front of the server: two long-polls answered 503 (Retry-After: 1), one cut
        # without an answer, one 502; then every request is forwarded.
        faults = ["503", "503", "reset", "502"]

        class Proxy(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                if "wait=" in self.path and faults:
                    fault = faults.pop(0)
                    if fault == "reset":
                        self.close_connection = True
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                        return
                    self.send_response(int(fault))
                    if fault == "503":
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"<html/>\r\n")
                    return
                self.forward(None)

            def do_POST(self) -> None:  # noqa: N802
                self.forward(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

            def forward(self, body: Optional[bytes]) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                req = urllib.request.Request(URL + self.path, data=body, headers=headers, method=self.command)
                try:
                    resp = urllib.request.urlopen(req, timeout=SAFETY + 60)
                except urllib.error.HTTPError as err:  # an answer too
                    resp = err
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            via_proxy = Client(f"http://127.0.0.1:{proxy.server_address[1]}", TOKEN)
            h = via_proxy.create("deploy", unique("behind a flaky proxy"), target="staging")
            events: List[RetryEvent] = []

            def on_retry(event: RetryEvent) -> None:
                events.append(event)
                if len(events) == 4:  # every fault seen: now a human decides
                    decide(h["id"], "approve")

            # max_consecutive_errors=1: a 500 would end the wait at once; an outage never counts.
            final = via_proxy.wait_for_decision(h, timeout=SAFETY, max_consecutive_errors=1, on_retry=on_retry)
        finally:
            proxy.shutdown()
            proxy.server_close()
        self.assertEqual(final["status"], "approved")
        self.assertEqual([e.reason for e in events], ["HTTP 503", "HTTP 503", "ECONNRESET", "HTTP 502"])
        self.assertEqual([e.delay_ms for e in events[:2]], [1000, 1000])
        self.assertTrue(125 <= events[2].delay_ms <= 1000, events[2].delay_ms)

    def test_a_wait_that_ends_while_the_server_is_unreachable_returns_the_last_view(self) -> None:
        h = self.ony.create("deploy", unique("server gone"), target="staging")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
        events: List[RetryEvent] = []
        last = Client(f"http://127.0.0.1:{closed_port}", TOKEN).wait_for_decision(h, timeout=1.5, on_retry=events.append)
        self.assertEqual(last, h)  # still pending: not an approval, not an error
        self.assertGreaterEqual(len(events), 2)
        self.assertEqual({e.reason for e in events}, {"ECONNREFUSED"})
        self.ony.cancel(h["id"])

    def test_bad_token_and_bad_input_are_clear_errors(self) -> None:
        bad = Client(URL, "ony_dev_not_a_token")
        with self.assertRaises(OnyApiError) as create:
            bad.create("deploy", "nope")
        self.assertEqual((create.exception.status, create.exception.code), (401, "unauthenticated"))
        self.assertIn("device token is missing, unknown or revoked (HTTP 401, unauthenticated)", str(create.exception))
        with self.assertRaises(OnyApiError) as wait:  # an answer, not an outage: not retried
            bad.wait_for_decision("00000000-0000-4000-8000-000000000000", timeout=SAFETY)
        self.assertEqual(wait.exception.status, 401)
        with self.assertRaises(OnyApiError) as invalid:
            self.ony.create("deploy", "x" * 201)
        self.assertEqual((invalid.exception.status, invalid.exception.code), (400, "validation_failed"))
        self.assertIn("title", invalid.exception.detail)
        with self.assertRaises(OnyApiError) as kind:
            self.ony.create("rm -rf", "not an action")
        self.assertEqual(kind.exception.status, 400)
        with self.assertRaisesRegex(ValueError, "http:// or https://"):
            Client("ony.example.com", TOKEN)


if __name__ == "__main__":
    unittest.main()
