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

from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import CaseEvent, Webhook, WebhookDelivery
from casetrack.services.workdays import calendar
from casetrack.services.integration import outbox, webhooks
from tests.helpers import FIELDS
from tests.test_deadlines import on

SECRET = "a-shared-secret-of-the-county"


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers with the given statuses in turn, after a delay
    (or once `hold` is set, or `before_answer(n)` for the n-th request has returned); it records
    any method, so that a redirect followed as a GET shows too."""

    def __init__(self, statuses=(200,), delay: float = 0.0, hold: threading.Event | None = None,
                 location: str | None = None, before_answer=None):
        self.statuses, self.delay, self.hold, self.received = list(statuses), delay, hold, []
        receiver, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    receiver.received.append((dict(self.headers), body))
                    number = len(receiver.received)
                if before_answer is not None:
                    before_answer(number)
                if receiver.hold is not None:  # answer only once the test lets go
                    receiver.hold.wait(60)
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

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
def loopback_allowed(app):
    """The tests' receivers listen on 127.0.0.1, which a deployment refuses unless it allows it."""
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = ["127.0.0.0/8"]


@pytest.fixture
def receiver(loopback_allowed):
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
    events = db.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case["id"]).order_by(CaseEvent.id))
    assert [filed["id"], escalated["id"]] == list(events)  # what a receiver deduplicates on
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


def test_after_the_last_attempt_a_delivery_fails_and_an_admin_retries_it(world, runner, auth, client,
                                                                         loopback_allowed):
    register(dead_url())
    world.file("group1")
    db.session.commit()
    moment = calendar.now()
    for _ in range(outbox.MAX_ATTEMPTS):
        moment += outbox.MAX_BACKOFF + timedelta(seconds=1)
        with calendar.at(moment):
            deliver(runner)
    row = deliveries()[0]
    assert (row.state, row.attempts, row.last_status) == ("failed", outbox.MAX_ATTEMPTS, None)
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


def test_registering_checks_the_address_and_the_secret(world, auth, client, app):
    auth.login("admin")
    r = client.post("/admin/webhooks", data={"url": "ftp://x", "secret": "short"})
    assert r.status_code == 422 and deliveries() == []
    for url in ("http://hook s.example.org/", "http://example.org:99999/hook"):
        assert client.post("/admin/webhooks", data={"url": url, "secret": SECRET}).status_code == 422
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8, 10.20.0.0/16"  # a receiver of the deployment's own
    r = client.post("/admin/webhooks", data={"url": "http://127.0.0.1:9/hook", "secret": SECRET})
    assert r.status_code == 302
    assert "http://127.0.0.1:9/hook" in client.get("/admin/webhooks").get_data(as_text=True)


INSIDE = ["http://127.0.0.1/hook", "http://localhost:5000/api/v1/me", "http://[::1]:8080/hook",
          "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:5000/",
          "http://2130706433/hook", "http://0x7f.1/hook", "http://[::ffff:127.0.0.1]/hook",
          "https://192.168.1.1/", "http://224.0.0.1/", "http://[fe80::1]/", "http://100.64.0.1/"]


@pytest.mark.parametrize("url", INSIDE)
def test_a_receiver_inside_the_deployment_is_refused(world, auth, client, url):
    auth.login("admin")
    r = client.post("/admin/webhooks", data={"url": url, "secret": SECRET}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert "leads inside the deployment" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Webhook.id))) == 0


def test_the_refusal_is_in_the_users_language(world, auth, client):
    auth.login("admin")
    r = client.post("/admin/webhooks", data={"url": "http://localhost/", "secret": SECRET},
                    headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 422 and "内部地址" in r.get_data(as_text=True)


def test_a_mistyped_allowed_network_stops_start_up(database_url):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_NETWORKS"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "WEBHOOK_ALLOWED_NETWORKS": ["10.0.0.0/33"]})


@pytest.fixture
def dns(monkeypatch):
    """dns[name] = address: what getaddrinfo answers for that name from now on."""
    names, real = {}, socket.getaddrinfo

    def getaddrinfo(host, *args, **kw):
        return real(names.get(host, host), *args, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def test_a_name_that_turns_inside_at_delivery_is_not_contacted(app, world, runner, receiver, dns, auth, client):
    r = receiver()
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = []
    dns["hooks.example.org"] = "93.184.215.14"  # public when registered
    register(f"http://hooks.example.org:{r.server.server_port}/hook")
    world.file("group1")
    db.session.commit()
    dns["hooks.example.org"] = "127.0.0.1"  # then rebound to the deployment itself
    assert "1 failed" in deliver(runner)
    assert r.received == []
    row = deliveries()[0]
    assert (row.state, row.attempts, row.last_status) == ("failed", 1, None)
    assert "hooks.example.org resolves to 127.0.0.1" in row.last_error
    auth.login("admin")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert 'data-state="failed"' in page and "inside the deployment" in page


def test_a_redirect_is_not_followed(world, runner, receiver):
    elsewhere = receiver()
    redirecting = receiver(statuses=(302,), location=elsewhere.url)
    register(redirecting.url)
    world.file("group1")
    db.session.commit()
    assert "1 to retry" in deliver(runner)
    assert len(redirecting.received) == 1 and elsewhere.received == []
    row = deliveries()[0]
    assert row.last_status == 302 and "not followed" in row.last_error


def test_two_runs_at_once_post_each_event_once(app, world, runner, receiver, monkeypatch):
    """A healthy but slow receiver: each answer moves the clock on 15 s (timeout 10 s), and the
    third waits until a second run, started then, has finished. No event is posted twice."""
    app.config["WEBHOOK_TIMEOUT"] = 10
    clock = []
    reached, release = threading.Event(), threading.Event()

    def slow(number):
        clock[0] += timedelta(seconds=15)
        if number == 3:
            reached.set()
            release.wait(60)
    r = receiver(before_answer=slow)
    register(r.url)
    for _ in range(4):
        world.file("group1")
    db.session.commit()
    clock.append(calendar.now())
    monkeypatch.setattr(webhooks, "now", lambda: clock[0])
    outputs = []
    first = threading.Thread(target=lambda: outputs.append(deliver(runner)))
    first.start()
    try:
        assert reached.wait(60), "the first run never reached its third delivery"
        second = threading.Thread(target=lambda: outputs.append(deliver(runner)))
        second.start()
        second.join(60)
    finally:
        release.set()
        first.join()
    assert len(outputs) == 2
    bodies = [body for _headers, body in r.received]
    assert len(bodies) == 4 and len(set(bodies)) == 4
    assert {d.state for d in deliveries()} == {"delivered"}


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
    events = db.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    assert [p["id"] for p in posted] == list(events)[-2:]
    assert [(p["event"], p["trigger"], p["case"]["id"], p["to_unit"], p["data"]) for p in posted] == [
        ("case.transition", "pre_warning", case.id, "G1", {"deadline": "2026-06-08"}),
        ("case.transition", "overdue", case.id, "G1", {"deadline": "2026-06-08"})]
