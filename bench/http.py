"""Over HTTP against gunicorn (2 workers x 4 threads, 8 client threads): filing a case vs a trivial
JSON route (`file_case_http`), and a work team's escalation of a case vs filing one (`transition_http`)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from bench.common import line, populated, sized
from casetrack.extensions import db
from casetrack.models import User
from casetrack.services.organisation.accounts import create_token

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
ROUNDS = 4
# As docs/deploy.md runs it: threads let a worker answer another request while one waits for
# SQLite's write lock or for a client to close its connection (sync workers sat idle then).
GUNICORN = ["--worker-class", "gthread", "--threads", "4"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(url: str, **env: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """The app under gunicorn on `url`'s database, answering on the port yielded."""
    port = _free_port()
    env = {**os.environ, "CASETRACK_DATABASE_URL": url, "CASETRACK_SECRET_KEY": "bench", **env}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", os.environ.get("BENCH_WORKERS", "2"),
                               *GUNICORN, "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _load(port: int, method: str, path: str, body: bytes | None, headers: dict, seconds: float,
          expect: int, next_request: Callable[[], tuple[str, bytes] | None] | None = None
          ) -> tuple[float, list[float]]:
    """The seconds taken and every request's latency, from THREADS threads for `seconds`;
    `next_request`: each request's own path and body (None: none left, the thread stops)."""
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def worker(mine: list[float]) -> None:
        url, data = path, body
        while time.perf_counter() < deadline:
            if next_request is not None:
                request = next_request()
                if request is None:
                    break
                url, data = request
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(method, url, body=data, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - start)
            if response.status != expect:
                errors.append(f"{method} {url}: {response.status}")

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return elapsed, [x for mine in latencies for x in mine]


def _workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the server's workers, from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # a process that ended while we looked
            continue
        if int(fields[1]) == master:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _p99(latencies: list[float]) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def run(databases, quick: bool) -> bool:
    # full size: case_list's data set of 1M cases (province: 5M), a copy (filing writes)
    url, seconds = databases.data(cases=2_000 if quick else sized(1_000_000), copy=True), 4 if quick else 20
    with populated(url):
        leader = db.session.scalars(select(User).where(User.role == "group_leader")
                                    .order_by(User.id)).first()
        token = create_token(leader, "bench")
        db.session.commit()
    try:
        with gunicorn(url) as (port, server):
            _load(port, "GET", "/healthz", None, {}, 1, 200)  # warm up both workers
            body = json.dumps({"title": "村道坑洼，雨天无法通行", "category": "infrastructure",
                               "kind": "individual", "description": "王家组到李家组的路",
                               "resident": {"name": "张三", "phone": "13800000000"}}).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            requests = {"ping": ("GET", "/healthz", None, {}), "file": ("POST", "/api/v1/cases", body, headers)}
            expect = {"ping": 200, "file": 201}
            spent = {side: [0.0, 0.0] for side in requests}   # wall seconds, workers' CPU seconds
            latencies: dict[str, list[float]] = {side: [] for side in requests}
            # Alternate slices of each, so that a change in the machine's load weighs on both sides.
            for _ in range(ROUNDS):
                for side, (method, path, data, head) in requests.items():
                    cpu = _workers_cpu(server.pid)
                    elapsed, taken = _load(port, method, path, data, head, seconds / ROUNDS, expect[side])
                    spent[side][0] += elapsed
                    spent[side][1] += _workers_cpu(server.pid) - cpu
                    latencies[side] += taken
    finally:
        databases.drop(url)
    ping, filed = sorted(latencies["ping"]), sorted(latencies["file"])
    ping_rps, file_rps = len(ping) / spent["ping"][0], len(filed) / spent["file"][0]
    p99 = _p99(filed)
    ok = line("file_case_http", file_rps / ping_rps, ">=", 0.2,
              f"filing {file_rps:.0f} req/s (p50 {1000 * filed[len(filed) // 2]:.1f} ms, "
              f"p99 {1000 * p99:.1f} ms), GET /healthz {ping_rps:.0f} req/s "
              f"(p99 {1000 * _p99(ping):.1f} ms); workers' CPU per request: filing "
              f"{1000 * spent['file'][1] / len(filed):.2f} ms, GET /healthz {1000 * spent['ping'][1] / len(ping):.2f} ms; "
              f"gunicorn 2 workers x 4 threads, {THREADS} client threads, "
              f"{seconds} s each in {ROUNDS} alternate slices")
    return line("file_case_http_p99", 1000 * p99, "<=", 50, "ms p99 of filing a case over HTTP") and ok


# -- transition_http -----------------------------------------------------------------------

ESCALATION = {"trigger": "escalate", "reason": "需要县活动办协调"}


def _team_and_groups() -> tuple[User, list[User]]:
    """The first work team's leader (team01 in the demo) and the leaders of its groups."""
    from casetrack.models import Unit
    team = db.session.scalars(select(Unit).where(Unit.kind == "team").order_by(Unit.code)).first()
    leader = db.session.scalars(select(User).where(User.role == "team_leader", User.unit_id == team.id,
                                                   User.active.is_(True)).order_by(User.id)).first()
    groups = list(db.session.scalars(select(User).join(Unit, Unit.id == User.unit_id).where(
        User.role == "group_leader", User.active.is_(True), Unit.parent_id == team.id).order_by(User.id)))
    return leader, groups


def _waiting_with_team(url: str, n: int) -> list[tuple[int, int]]:
    """`n` new cases waiting with the first team, (id, version) each: filed by its groups'
    leaders and escalated to the team through the services, untimed."""
    from casetrack.services.casework.cases import file_case, fire
    made = []
    with populated(url):
        _leader, groups = _team_and_groups()
        for i in range(n):
            actor = groups[i % len(groups)]
            case = file_case(actor, title=f"村道坑洼，雨天无法通行 {i}", category="infrastructure",
                             kind="shared", description="王家组到李家组的路")
            fire(case, "escalate", actor, reason="本组无法解决，需工作队统筹")
            made.append(case)
            if len(made) % 200 == 0:
                db.session.commit()
        db.session.commit()
        return [(case.id, case.version) for case in made]


def run_transition(databases, quick: bool) -> bool:
    """team01's `escalate` (team -> county office) over HTTP, each on a case no request has
    touched, vs filing a case over HTTP, on the same server, in alternate slices."""
    url = databases.data(cases=2_000 if quick else sized(1_000_000), copy=True)
    # BENCH_SECONDS: longer slices at quick size, where 1 s slices move with a loaded machine's load
    seconds = float(os.environ.get("BENCH_SECONDS", 4 if quick else 20))
    with populated(url):
        leader, groups = _team_and_groups()
        team_token, group_token = create_token(leader, "bench"), create_token(groups[0], "bench")
        db.session.commit()
    waiting = _waiting_with_team(url, 400 if quick else 2000)
    lock = threading.Lock()

    def next_case() -> tuple[str, bytes] | None:
        with lock:
            if not waiting:
                return None
            cid, version = waiting.pop()
        return f"/api/v1/cases/{cid}/transitions", json.dumps({**ESCALATION, "version": version}).encode()

    filing = json.dumps({"title": "村道坑洼，雨天无法通行", "category": "infrastructure", "kind": "individual",
                         "description": "王家组到李家组的路",
                         "resident": {"name": "张三", "phone": "13800000000"}}).encode()
    sides = {"file": ("/api/v1/cases", filing, group_token, 201, None),
             "escalate": ("", None, team_token, 200, next_case)}
    spent = {side: [0.0, 0.0] for side in sides}   # wall seconds, workers' CPU seconds
    latencies: dict[str, list[float]] = {side: [] for side in sides}
    escalated = 0
    try:
        with gunicorn(url) as (port, server):
            _load(port, "GET", "/healthz", None, {}, 1, 200)  # warm up both workers
            for r in range(ROUNDS):
                for side in list(sides)[::1 if r % 2 == 0 else -1]:
                    path, body, token, expect, each = sides[side]
                    if each is not None:   # enough fresh cases for the slice, made untimed
                        rate = len(latencies[side]) / spent[side][0] if spent[side][0] else 100
                        if len(waiting) < 1.5 * rate * seconds / ROUNDS:
                            waiting[:0] = _waiting_with_team(url, int(2 * rate * seconds / ROUNDS))
                    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                    cpu = _workers_cpu(server.pid)
                    elapsed, taken = _load(port, "POST", path, body, headers, seconds / ROUNDS, expect, each)
                    spent[side][0] += elapsed
                    spent[side][1] += _workers_cpu(server.pid) - cpu
                    latencies[side] += taken
            escalated = len(latencies["escalate"])
        with populated(url):
            from casetrack.models import Case
            at_county = db.session.scalar(select(db.func.count()).where(
                Case.state == "county", Case.title.like("村道坑洼，雨天无法通行 %")))
        assert at_county == escalated, (at_county, escalated)
    finally:
        databases.drop(url)
    rate = {side: len(latencies[side]) / spent[side][0] for side in sides}
    done = {side: sorted(latencies[side]) for side in sides}
    cpu = {side: 1000 * spent[side][1] / len(done[side]) for side in sides}
    return line("transition_http", rate["escalate"] / rate["file"], ">=", 0.7,
                f"escalating {rate['escalate']:.0f} req/s (p50 {1000 * done['escalate'][len(done['escalate']) // 2]:.1f} "
                f"ms, p99 {1000 * _p99(done['escalate']):.1f} ms, workers' CPU {cpu['escalate']:.2f} ms/req), "
                f"filing {rate['file']:.0f} req/s (p50 {1000 * done['file'][len(done['file']) // 2]:.1f} ms, "
                f"p99 {1000 * _p99(done['file']):.1f} ms, workers' CPU {cpu['file']:.2f} ms/req); a team "
                f"leader's escalations (team -> county office), each on a fresh case, against a group "
                f"leader's filings; gunicorn 2 workers x 4 threads, {THREADS} client threads, {seconds} s "
                f"each in {ROUNDS} alternate slices")
