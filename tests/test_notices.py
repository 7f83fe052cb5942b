"""The inbox: what needs me, unread counts, supervision notes (督办) to acknowledge."""
from __future__ import annotations

import pytest

from casetrack.extensions import db
from casetrack.services.casework.cases import fire
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
    """A minimal SMTP server on loopback that keeps what it receives."""

    def __init__(self):
        import socketserver
        import threading
        self.messages: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 fake\r\n")
                while line := self.rfile.readline():
                    verb = line.strip().upper()
                    if verb == b"DATA":
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


def test_notices_are_mailed_after_commit_when_smtp_is_configured(world, smtp):
    world.users["team1"].email = "team1@example.org"
    db.session.commit()
    case = world.file("group1")
    fire(case, "escalate", world.users["group1"], reason="需要协调")
    assert smtp.messages == []  # nothing before the commit
    db.session.commit()
    [mail] = smtp.messages
    assert "To: team1@example.org" in mail and "escalation" in mail
    other = world.file("group1")  # the group has no address: no mail
    db.session.commit()
    fire(other, "escalate", world.users["group1"], reason="再次上报")
    db.session.rollback()  # a rolled-back escalation mails no one
    db.session.commit()
    assert len(smtp.messages) == 1


def test_the_mail_of_a_filing_names_the_new_case(world, smtp):
    world.users["group1"].email = "group1@example.org"
    db.session.commit()
    case = world.file("group1")
    db.session.commit()
    [mail] = smtp.messages
    assert "To: group1@example.org" in mail and f"new case #{case.id} " in mail


def test_the_sweeps_digests_are_mailed_one_mail_each(world, smtp, runner):
    world.users["team1"].email = "team1@example.org"
    with on("2026-06-01"):
        case = world.file("group1")
        world.file("group1")
    db.session.commit()
    sweep(runner, "2026-06-09")  # overdue: the group and its team hear of it, in one digest each
    [mail] = smtp.messages  # the group's users have no address
    assert "To: team1@example.org" in mail and "王家村工作组 有 2 个问题新超期" in mail
    assert f"#{case.id}" not in mail
