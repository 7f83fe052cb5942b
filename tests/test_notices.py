"""The inbox: what needs me, unread counts, supervision notes (督办) to acknowledge."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import OutgoingMail
from casetrack.services.casework.cases import fire
from casetrack.services.integration import outbox
from casetrack.services.workdays import calendar
from casetrack.services.workdays.calendar import now
from tests.test_deadlines import on
from tests.test_sweep import sweep


def kinds(api, user: str) -> list[str]:
    return [n["kind"] for n in api(user).get("/notifications").get_json()["notifications"]]


def test_each_step_reaches_the_unit_it_concerns(world, api):
    case = world.file("member1")
    assert kinds(api, "group1") == ["new_case"]
    fire(case, "escalate", world.users["group1"], reason="需要工作队协调")
    fire(case, "escalate", world.users["team1"], reason="需要县里协调")
    fire(case, "refer", world.users["county"], department="D1", due_date="2099-01-01")
    fire(case, "resolve", world.users["dept1"], resolution="已修路")
    fire(case, "verify", world.users["county"], satisfied=True)
    db.session.commit()
    assert kinds(api, "team1") == ["escalation"]
    assert kinds(api, "county") == ["new_case", "escalation"]  # back for the call-back
    assert kinds(api, "dept1") == ["referral"]
    # newest first: the answer at the resolution and at the call-back, to tell the household
    assert kinds(api, "group1") == ["answer", "answer", "new_case"]
    told = api("group1").get("/notifications").get_json()["notifications"][0]
    assert told["message"] == "回访核实：已办结销号"   # the office's words, not "call-back: satisfied"
    assert kinds(api, "group3") == []  # another team hears nothing


def test_unread_count_and_mark_read(world, api, auth, client):
    world.file("group1")
    world.file("group1")
    db.session.commit()
    body = api("member1").get("/notifications").get_json()
    assert body["unread"] == 2
    r = api("member1").post(f"/notifications/{body['notifications'][0]['id']}/read")
    assert r.get_json()["unread"] == 1
    assert api("group3").post(f"/notifications/{body['notifications'][1]['id']}/read").status_code == 404
    auth.login("member1")
    page = client.get("/notices/").get_data(as_text=True)
    assert "村道坑洼" in page
    assert client.post("/notices/read-all").status_code == 302
    assert api("member1").get("/notifications").get_json()["unread"] == 0


def test_inbox_link_shows_the_unread_count(world, auth, client):
    world.file("group1")
    db.session.commit()
    auth.login("member1")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/notices/"' in page and '<span class="badge">1</span>' in page


def test_overdue_reaches_the_superior_who_supervises_and_the_handler_acknowledges(world, api, runner):
    with on("2026-06-01"):
        case = world.file("group1")
        db.session.commit()
    sweep(runner, "2026-06-09")
    assert "overdue" in kinds(api, "team1")
    assert api("group1").post(f"/cases/{case.id}/supervision", json={"text": "x"}).status_code == 403
    assert api("team2").post(f"/cases/{case.id}/supervision", json={"text": "x"}).status_code == 404
    r = api("team1").post(f"/cases/{case.id}/supervision", json={"text": "请本周内办结"})
    assert r.status_code == 201, r.get_json()
    note = r.get_json()
    body = api("member1").get("/notifications").get_json()
    assert [n["text"] for n in body["supervision"]] == ["请本周内办结"]
    assert body["notifications"][0]["kind"] == "supervision"
    assert api("group2").post(f"/supervision/{note['id']}/acknowledge").status_code == 404
    r = api("member1").post(f"/supervision/{note['id']}/acknowledge")
    assert r.status_code == 200 and r.get_json()["acknowledged_at"]
    assert api("group1").get("/notifications").get_json()["supervision"] == []
    events = [e["trigger"] for e in api("team1").get(f"/cases/{case.id}").get_json()["events"]]
    assert events[-2:] == ["supervise", "acknowledge"]
    assert "supervision" in kinds(api, "team1")  # the author hears it was acknowledged


def test_supervision_note_acknowledged_from_the_inbox_page(world, api, auth, client):
    case = world.file("group1")
    db.session.commit()
    note = api("county").post(f"/cases/{case.id}/supervision", json={"text": "抓紧办理"}).get_json()
    auth.login("group1")
    assert "抓紧办理" in client.get("/notices/").get_data(as_text=True)
    client.post(f"/notices/supervision/{note['id']}/acknowledge")
    assert "抓紧办理" not in client.get("/notices/").get_data(as_text=True).split('<details class="digest')[0]


class FakeSMTP:
    """A minimal SMTP server on loopback that keeps what it receives; `refuse` answers the
    message with that SMTP code instead (550: refused for good, 451: try again later)."""

    def __init__(self):
        import socketserver
        import threading
        self.messages: list[str] = []
        self.refuse: int | None = None
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 fake\r\n")
                while line := self.rfile.readline():
                    verb = line.strip().upper()
                    if verb == b"DATA" and outer.refuse:
                        self.wfile.write(b"%d no\r\n" % outer.refuse)
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        outer.messages.append(data.decode())
                        self.wfile.write(b"250 ok\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp(app):
    """A fake SMTP server that the app mails to."""
    server = FakeSMTP()
    app.config["MAIL_SERVER"] = server.address
    yield server
    server.close()


def deliver_mail(runner) -> str:
    """Run the cron command that sends the outbox's due mails; its one-line summary."""
    result = runner.invoke(args=["deliver-mail"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_notices_are_mailed_from_the_outbox_after_commit(world, smtp, runner):
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    case = world.file("group1")
    fire(case, "escalate", world.users["group1"], reason="需要协调")
    db.session.commit()
    assert smtp.messages == []  # the request sends nothing: the mail waits in the outbox
    assert deliver_mail(runner) == "1 due: 1 sent, 0 to retry, 0 failed"
    [mail] = smtp.messages
    assert "To: team1@example.org" in mail and "escalation" in mail
    assert deliver_mail(runner).startswith("0 due")  # sent once
    other = world.file("group1")  # the group has no address: no mail
    db.session.commit()
    fire(other, "escalate", world.users["group1"], reason="再次上报")
    db.session.rollback()  # a rolled-back escalation mails no one
    db.session.commit()
    assert deliver_mail(runner).startswith("0 due")
    assert len(smtp.messages) == 1


def test_the_mail_of_a_filing_names_the_new_case(world, smtp, runner):
    world.users["group1"].email = "group1@example.org"
    db.session.commit()
    case = world.file("group1")
    db.session.commit()
    deliver_mail(runner)
    [mail] = smtp.messages
    assert "To: group1@example.org" in mail and f"new case #{case.id} " in mail


def test_the_sweeps_digests_are_mailed_one_mail_each(world, smtp, runner):
    world.users["team1"].email = "team1@example.org"
    with on("2026-06-01"):
        case = world.file("group1")
        world.file("group1")
    db.session.commit()
    sweep(runner, "2026-06-09")  # overdue: the group and its team hear of it, in one digest each
    deliver_mail(runner)
    [mail] = smtp.messages  # the group's users have no address
    assert "To: team1@example.org" in mail and "王家村工作组 有 2 个问题新超期" in mail
    assert f"#{case.id}" not in mail


def test_a_silent_mail_server_holds_up_no_request(world, app, api, runner):
    """An SMTP server that accepts the connection and never answers: the escalation is answered
    at once; deliver-mail gives up on the attempt after MAIL_TIMEOUT and keeps the mail to retry."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete, and nothing is ever said on them
    app.config.update(MAIL_SERVER=f"127.0.0.1:{silent.getsockname()[1]}", MAIL_TIMEOUT=5)
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    case = world.file("group1")
    db.session.commit()
    try:
        started = time.perf_counter()
        r = api("group1").post(f"/cases/{case.id}/transitions",
                               json={"trigger": "escalate", "reason": "需要协调", "version": case.version})
        assert r.status_code == 200, r.json
        assert time.perf_counter() - started < 4   # not the 5 s the server would have taken
        app.config["MAIL_TIMEOUT"] = 0.5
        assert deliver_mail(runner) == "1 due: 0 sent, 1 to retry, 0 failed"
        mail = db.session.scalars(select(OutgoingMail)).one()
        assert (mail.state, mail.attempts, mail.recipients) == ("pending", 1, ["team1@example.org"])
        assert mail.last_error and mail.next_attempt_at > now()
        assert deliver_mail(runner).startswith("0 due")  # not again before its back-off
    finally:
        silent.close()


def test_a_mail_is_retried_with_back_off_then_given_up(world, smtp, runner):
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    fire(world.file("group1"), "escalate", world.users["group1"], reason="需要协调")
    db.session.commit()
    smtp.refuse = 451  # try again later
    moment = now()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        with calendar.at(moment):
            deliver_mail(runner)
        mail = db.session.scalars(select(OutgoingMail)).one()
        assert mail.attempts == attempt and "SMTP 451" in mail.last_error
        db.session.rollback()
        moment += outbox.MAX_BACKOFF + timedelta(seconds=1)
    assert mail.state == "failed" and smtp.messages == []


def test_a_mail_refused_for_good_is_not_retried(world, smtp, runner):
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    fire(world.file("group1"), "escalate", world.users["group1"], reason="需要协调")
    db.session.commit()
    smtp.refuse = 550
    assert deliver_mail(runner) == "1 due: 0 sent, 0 to retry, 1 failed"
    smtp.refuse = None
    with calendar.at(now() + timedelta(days=1)):
        assert deliver_mail(runner).startswith("0 due")
    assert smtp.messages == []


def test_no_mail_is_kept_without_a_mail_server(world, runner):
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    fire(world.file("group1"), "escalate", world.users["group1"], reason="需要协调")
    db.session.commit()
    assert db.session.scalars(select(OutgoingMail)).all() == []
    assert "no mail server configured" in deliver_mail(runner)
