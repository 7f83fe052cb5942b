"""What the benchmarks share: a throw-away database on either engine, an app, a result line."""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from casetrack import create_app
from casetrack.extensions import db
from casetrack.services.generate import generate

FAST_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
PROVINCE = 5  # `--province`: five times the full size (5M cases where the full size has 1M)
scale = 1     # set to PROVINCE by `python -m bench --province`


def sized(n: int) -> int:
    """A full-size count, at province size when asked."""
    return n * scale


class Databases:
    """Fresh empty databases: SQLite files in a temp folder, or a throw-away PostgreSQL cluster."""

    def __init__(self, pg: bool):
        self.pg, self.root, self.cluster, self.n = pg, Path(tempfile.mkdtemp(prefix="casetrack-bench-")), None, 0
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
            return self.cluster.create_database(f"bench{self.n}", template=url.rsplit("/", 1)[1])
        path = self.root / f"bench{self.n}.db"
        shutil.copy(url.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"

    def close(self) -> None:
        if self.cluster:
            self.cluster.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def make_app(url: str):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "ARGON2_PARAMS": FAST_HASH})


@contextmanager
def populated(url: str, cases: int, targets: int = 0, seed: int = 1, visits: int = 0) -> Iterator:
    """An app context on `url` with the schema and a generated data set."""
    app = make_app(url)
    with app.app_context():
        from casetrack import schema
        schema.upgrade()
        started = time.perf_counter()
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
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Seconds per call, best of three rounds of `repeat` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def line(name: str, ratio: float, op: str, limit: float, figures: str) -> bool:
    ok = ratio <= limit if op == "<=" else ratio >= limit
    print(f"{name}: {ratio:.2f} (target {op} {limit}) {figures}{'' if ok else '  << MISSED'}",
          flush=True)
    return ok
