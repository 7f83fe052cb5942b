"""Webhooks: signed events from an outbox, retried with back-off, never in a transition's way."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import WebhookDelivery
from casetrack.services import calendar, webhooks
from tests.helpers import FIELDS
from tests.test_deadlines import on

SECRET = "a-shared-secret-of-the-county"


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers with the given statuses in turn, after a delay
    (or once `hold` is set)."""

    def __init__(self, statuses=(200,), delay: float = 0.0, hold: threading.Event | None = None):
        self.statuses, self.delay, self.hold, self.received = list(statuses), delay, hold, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                if receiver.hold is not None:  # answer only once the test lets go
                    receiver.hold.wait(60)
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*args, **kw) -> Receiver:
        made.append(Receiver(*args, **kw))
        return made[-1]
    yield make
    for r in made:
        r.close()


def dead_url() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def register(url: str):
    hook = webhooks.register_webhook(url, SECRET, "12345 hotline")
    db.session.commit()
    return hook


def deliver(runner) -> str:
    result = runner.invoke(args=["deliver-webhooks"])
    assert result.exit_code == 0, result.output
    return result.output


def deliveries():
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_every_transition_is_posted_signed(api, world, runner, receiver):
    r = receiver()
    register(r.url)
    client = api("group1")
    case = client.post("/cases", json={"title": "村道坑洼", "category": "infrastructure", "kind": "individual"}).json
    client.post(f"/cases/{case['id']}/transitions", json={"trigger": "escalate", "version": case["version"],
                                                          **FIELDS["escalate"]})
    assert r.received == []  # nothing is sent inside the request
    assert "2 due: 2 delivered" in deliver(runner)
    (h1, b1), (h2, b2) = r.received
    for headers, body in r.received:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Casetrack-Signature"], expected)
        assert headers["Content-Type"].startswith("application/json")
    assert hmac.new(b"another secret", b2, hashlib.sha256).hexdigest() != h2["X-Casetrack-Signature"]
    filed, escalated = json.loads(b1), json.loads(b2)
    assert filed["event"] == "case.filed" and filed["case"]["id"] == case["id"]
    assert (escalated["event"], escalated["trigger"], escalated["from_state"], escalated["to_state"],
            escalated["to_unit"]) == ("case.transition", "escalate", "group", "team", "T1")
    assert "resident" not in escalated["case"]
    assert "0 due" in deliver(runner)  # delivered once, not again


def test_a_refused_transition_queues_nothing(api, world, runner, receiver):
    register(receiver().url)
    client = api("group1")
    case = client.post("/cases", json={"title": "路灯", "category": "infrastructure", "kind": "individual"}).json
    r = client.post(f"/cases/{case['id']}/transitions", json={"trigger": "escalate", "version": case["version"]})
    assert r.status_code == 422  # no reason given
    assert [d.event for d in deliveries()] == ["case.filed"]


def test_a_failing_receiver_is_retried_with_back_off_and_shown(api, world, runner, receiver, auth, client):
    r = receiver(statuses=(500, 503, 200))
    register(r.url)
    world.file("group1")
    db.session.commit()
    assert "1 to retry" in deliver(runner)
    first = deliveries()[0]
    assert (first.state, first.attempts, first.last_status) == ("pending", 1, 500)
    retry_at = first.next_attempt_at
    assert retry_at - first.created_at >= timedelta(seconds=29)
    assert "0 due" in deliver(runner)  # not before its time
    with calendar.at(retry_at + timedelta(seconds=1)):
        assert "1 to retry" in deliver(runner)
    second = deliveries()[0]
    assert second.attempts == 2 and second.next_attempt_at - retry_at >= timedelta(seconds=59)  # doubled
    auth.login("admin")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert 'data-state="pending"' in page and "HTTP 503" in page
    with calendar.at(second.next_attempt_at + timedelta(seconds=1)):
        assert "1 delivered" in deliver(runner)
    assert deliveries()[0].state == "delivered" and len(r.received) == 3
    assert len({body for _h, body in r.received}) == 1  # the same event each time


def test_after_the_last_attempt_a_delivery_fails_and_an_admin_retries_it(world, runner, auth, client):
    register(dead_url())
    world.file("group1")
    db.session.commit()
    moment = calendar.now()
    for _ in range(webhooks.MAX_ATTEMPTS):
        moment += webhooks.MAX_BACKOFF + timedelta(seconds=1)
        with calendar.at(moment):
            deliver(runner)
    row = deliveries()[0]
    assert (row.state, row.attempts, row.last_status) == ("failed", webhooks.MAX_ATTEMPTS, None)
    assert row.last_error
    auth.login("admin")
    assert 'data-state="failed"' in client.get("/admin/webhooks").get_data(as_text=True)
    assert client.post(f"/admin/webhooks/deliveries/{row.id}/retry").status_code == 302
    assert deliveries()[0].state == "pending"


def test_a_dead_or_slow_receiver_never_slows_a_transition(api, world, runner, receiver, app):
    app.config["WEBHOOK_TIMEOUT"] = 30
    answer = threading.Event()
    slow = receiver(hold=answer)  # keeps the delivery run waiting until the case has moved on
    register(slow.url)
    register(dead_url())
    client = api("group1")
    case = client.post("/cases", json={"title": "水渠堵塞", "category": "infrastructure", "kind": "individual"}).json
    # The test client shares the test's session, which still holds the write lock the request's
    # answer read under (a real request ends its session); end it, as the end of a request would.
    db.session.commit()
    sender = threading.Thread(target=deliver, args=(runner,))
    sender.start()
    for _ in range(600):
        if slow.received:
            break
        time.sleep(0.05)
    assert slow.received, "the delivery run never reached the receiver"
    try:
        r = client.post(f"/cases/{case['id']}/transitions", json={"trigger": "escalate", "version": case["version"],
                                                                  **FIELDS["escalate"]})
        # Answered while the delivery run still waits for the receiver: nothing held the case.
        assert sender.is_alive() and not answer.is_set()
        db.session.commit()  # as above: end the request's session
    finally:
        answer.set()
        sender.join()
    assert r.status_code == 200, r.json
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 4


def test_registering_checks_the_address_and_the_secret(world, auth, client):
    auth.login("admin")
    r = client.post("/admin/webhooks", data={"url": "ftp://x", "secret": "short"})
    assert r.status_code == 422 and deliveries() == []
    r = client.post("/admin/webhooks", data={"url": "http://127.0.0.1:9/hook", "secret": SECRET})
    assert r.status_code == 302
    assert "http://127.0.0.1:9/hook" in client.get("/admin/webhooks").get_data(as_text=True)


def test_the_sweeps_flags_are_posted_too(world, runner, receiver):
    r = receiver()
    register(r.url)
    with on("2026-06-01"):  # due Mon Jun 8, pre-warned from Fri Jun 5
        case = world.file("group1")
    db.session.commit()
    deliver(runner)  # the filing
    for day in ("2026-06-05", "2026-06-09"):
        with on(day):
            assert runner.invoke(args=["sweep"]).exit_code == 0
    assert "2 due: 2 delivered" in deliver(runner)
    posted = [json.loads(body) for _headers, body in r.received[-2:]]
    assert [(p["event"], p["trigger"], p["case"]["id"], p["to_unit"], p["data"]) for p in posted] == [
        ("case.transition", "pre_warning", case.id, "G1", {"deadline": "2026-06-08"}),
        ("case.transition", "overdue", case.id, "G1", {"deadline": "2026-06-08"})]
