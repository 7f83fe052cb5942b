"""What the benchmarks share: a throw-away database on either engine, an app, a result line."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path

from sqlalchemy import event

from casetrack import create_app
from casetrack.extensions import db
from casetrack.services.workdays import calendar
from casetrack.services.dataset.generate import generate

FAST_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
PROVINCE = 5  # `--province`: five times the full size (5M cases where the full size has 1M)
scale = 1     # set to PROVINCE by `python -m bench --province`, to N by `--scale N`
one_data_set = False  # `--scale N`: the large data sets are all the bulletin's (`Databases.data`)
SHARED = {"targets": 600_000, "visits": 3_000_000, "seed": 5}  # the bulletin's, with its moment


def sized(n: int) -> int:
    """A full-size count, at province size when asked."""
    return n * scale


class Databases:
    """Fresh empty databases: SQLite files in a temp folder, or a throw-away PostgreSQL cluster;
    and the generated data sets of this run, each built once (`data`)."""

    def __init__(self, pg: bool):
        self.pg, self.root, self.cluster, self.n = pg, Path(tempfile.mkdtemp(prefix="casetrack-bench-")), None, 0
        self.built: dict[tuple, str] = {}  # data set (cases, targets, visits, seed, clock) -> its database
        self.kept: set[str] = set()  # `--scale`'s shared data set, written in place
        if pg:
            from tests.pgcluster import Cluster, server_bin
            bindir = server_bin()
            if bindir is None:
                raise SystemExit("--pg needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
            self.cluster = Cluster(bindir)

    def new(self) -> str:
        self.n += 1
        if self.cluster:
            return self.cluster.create_database(f"bench{self.n}")
        return f"sqlite:///{self.root / f'bench{self.n}.db'}"

    def copy(self, url: str) -> str:
        """A new database with the same data as `url` (no connection to it may be open)."""
        self.n += 1
        if self.cluster:
            copied = self.cluster.create_database(f"bench{self.n}", template=url.rsplit("/", 1)[1])
        else:
            copied = f"sqlite:///{self.root / f'bench{self.n}.db'}"
            shutil.copy(url.removeprefix("sqlite:///"), copied.removeprefix("sqlite:///"))
        self.settle()
        return copied

    def settle(self) -> None:
        """Everything written so far on disk, not written back by PostgreSQL's checkpointer or
        the kernel while the next benchmark is timed (a copy of 1M cases is a gigabyte)."""
        if self.cluster:
            self.cluster.checkpoint()
        os.sync()

    def data(self, cases: int, targets: int = 0, visits: int = 0, seed: int = 1,
             at: datetime | None = None, copy: bool = False) -> str:
        """A database holding a generated data set (generated at the moment `at` if given, else
        now), built once per run and shared by the benchmarks that only read it; `copy=True`
        gives a copy of it, for a benchmark that changes the data (`drop` it when done)."""
        shared = one_data_set and cases == sized(1_000_000)  # not the sweep's (its own moment)
        if shared:  # one set of N million cases: two, or a copy of one, would fill the disk
            from bench.bulletin import NOW
            targets, visits, seed, at = SHARED["targets"], SHARED["visits"], SHARED["seed"], NOW
        key = (cases, targets, visits, seed, at)
        if key in self.built:
            print(f"#   the same {cases} cases, {targets} targets, {visits} visits as before", flush=True)
        else:
            with calendar.at(at) if at else nullcontext():
                self.built[key] = _generated(self.new(), cases, targets, visits, seed)
                self.settle()
        if copy and shared:  # written in place: name the benchmarks that write last
            self.kept.add(self.built[key])
            return self.built[key]
        return self.copy(self.built[key]) if copy else self.built[key]

    def drop(self, url: str) -> None:
        """Remove a database made by `new` or `copy` (no connection to it may be open); the
        shared data set of `--scale` stays for the benchmarks after."""
        if url in self.kept:
            return
        if self.cluster:
            import psycopg
            with psycopg.connect(host="127.0.0.1", port=self.cluster.port, user=self.cluster.user,
                                 dbname="postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        else:
            path = url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm", "-writer.lock"):
                Path(path + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        if self.cluster:
            self.cluster.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def make_app(url: str):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "ARGON2_PARAMS": FAST_HASH})


@contextmanager
def populated(url: str) -> Iterator:
    """An app context on `url` (a data set from `Databases.data`)."""
    app = make_app(url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@contextmanager
def detached(listeners: list[tuple]) -> Iterator[None]:
    """The app's event `listeners` ((target, event name, function) each) removed for the block:
    a baseline doing the app's work minus what they add. Put back in the order given, after
    any others on the same event."""
    for target, name, fn in listeners:
        event.remove(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in listeners:
            event.listen(target, name, fn)


def _generated(url: str, cases: int, targets: int, visits: int, seed: int) -> str:
    """Generate a data set into the empty database `url`, then refresh the planner's statistics."""
    started = time.perf_counter()
    with populated(url):
        from casetrack import schema
        schema.upgrade()
        generate(targets, cases, visits, seed=seed)
        db.session.commit()
        print(f"#   generated {cases} cases, {targets} targets, {visits} visits in {time.perf_counter() - started:.0f} s",
              flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    return url


def timed(fn: Callable[[], object], repeat: int, rounds: int = 3) -> float:
    """Seconds per call, best of `rounds` rounds of `repeat` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The seconds of the fastest of `repeat` calls, and the last call's answer."""
    out, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        out = min(out, time.perf_counter() - start)
    return out, result


def line(name: str, ratio: float, op: str, limit: float, figures: str) -> bool:
    ok = ratio <= limit if op == "<=" else ratio >= limit
    print(f"{name}: {ratio:.2f} (target {op} {limit}) {figures}{'' if ok else '  << MISSED'}",
          flush=True)
    return ok


def measure(name: str, ratio: float, figures: str) -> None:
    """A ratio shown for what it tells, held to no target."""
    print(f"{name}: {ratio:.2f} (measured, no target) {figures}", flush=True)
