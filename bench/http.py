"""File a case over HTTP (gunicorn, 2 workers, 8 client threads) vs a trivial JSON route."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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
          expect: int) -> tuple[float, list[float]]:
    """The seconds taken and every request's latency, from THREADS threads for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def worker(mine: list[float]) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - start)
            if response.status != expect:
                errors.append(f"{method} {path}: {response.status}")

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
