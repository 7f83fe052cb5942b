"""Drive a case of the test county into any state of the default workflow."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from werkzeug.serving import make_server

from casetrack.services.casework.cases import fire
from tests.factories import World

FUTURE = (date.today() + timedelta(days=30)).isoformat()

# The fields each trigger needs, filled in.
FIELDS = {
    "escalate": {"reason": "本组无法解决"},
    "send_back": {"reason": "请工作组先核实"},
    "refer": {"department": "D1", "due_date": FUTURE},
    "return": {"reason": "不属于本部门职责"},
    "resolve": {"resolution": "已修复路面", "funds": "2.5"},
    "explain": {"explanation": "资金暂缺，列入明年计划", "revisit_on": FUTURE},
    "resume": {},
    "verify": {"outcome": "satisfied", "note": "群众满意"},
    "confirm": {},
    "reject": {"reason": "办理结果不实，请重办"},
    "take_over": {"reason": "部门久拖未办，县活动办提级办理"},
    "send_down": {"unit": "G1", "reason": "属地问题，请属地办理"},
    "delegate_callback": {"callback_unit": "G1"},
}

# state -> [(username, trigger, extra fields)] from a freshly filed individual case of G1
PATHS = {
    "group": [],
    "team": [("group1", "escalate", {})],
    "county": [("group1", "escalate", {}), ("team1", "escalate", {})],
    "department": [("group1", "escalate", {}), ("team1", "escalate", {}), ("county", "refer", {})],
    "explained": [("group1", "explain", {})],
    "resolved": [("group1", "resolve", {})],
    "closed": [("group1", "resolve", {}), ("county", "verify", {})],
    "proposed": [("member1", "resolve", {"funds": None})],  # the leader gives the sums
    "explain_proposed": [("member1", "explain", {})],
    "callback": [("group1", "resolve", {}), ("county", "delegate_callback", {})],
}

# Who holds a case in each state of PATHS.
HOLDER = {"group": "group1", "team": "team1", "county": "county", "department": "dept1",
          "explained": "group1", "resolved": "county", "closed": None, "proposed": "group1",
          "explain_proposed": "group1", "callback": "group1"}


def act(world: World, case, username: str, trigger: str, **extra):
    """Fire with FIELDS[trigger] and `extra` over them (an extra None leaves a field out)."""
    fields = {k: v for k, v in {**FIELDS[trigger], **extra}.items() if v is not None}
    return fire(case, trigger, world.users[username], **fields)


def case_in(world: World, state: str):
    case = world.file()
    for username, trigger, extra in PATHS[state]:
        act(world, case, username, trigger, **extra)
    assert case.state == state
    return case


def assert_replays(case, events) -> None:
    """The event log, read from the first event, ends exactly where the case is."""
    assert events[0].trigger == "file" and events[0].from_state is None
    state, unit = events[0].to_state, events[0].to_unit_id
    for event in events[1:]:
        assert (event.from_state, event.from_unit_id) == (state, unit), "a gap in the log"
        state, unit = event.to_state, event.to_unit_id
    assert (state, unit) == (case.state, case.unit_id)
    assert case.version == len(events)


def _static_closed(app):
    """Werkzeug's development server skips closing a response whose client dropped the connection
    (it reads the dead socket first and raises), so a static file a browser gave up on (an icon
    answered 304) stayed open until a later test's garbage collection turned it into a failure.
    A static file is read whole and closed here; every other answer streams as it does."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        if not environ.get("PATH_INFO", "").startswith("/static/"):
            return body
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()
    return wsgi


@contextmanager
def serving(app) -> Iterator[str]:
    """The app on a real socket on 127.0.0.1 (a free port), for clients that speak HTTP themselves."""
    server = make_server("127.0.0.1", 0, _static_closed(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
