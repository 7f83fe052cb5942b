"""Shared helpers of the benchmarks: a throw-away app on a temporary SQLite file."""
from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from casetrack import create_app
from casetrack.extensions import db


@contextmanager
def bench_app(name: str):
    """An app context on a fresh database file in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=f"casetrack-{name}-") as folder:
        path = Path(folder) / "bench.db"
        app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True,
                          "SECRET_KEY": "bench",
                          "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
        with app.app_context():
            db.create_all()
            yield app, path
            db.session.remove()
            db.engine.dispose()


def county(teams: int = 11, groups: int = 144):
    """A county office, its teams and groups, and a county officer; returns (officer, groups)."""
    from casetrack.services.accounts import create_user
    from casetrack.services.org import create_unit, ensure_categories

    ensure_categories()
    create_unit("C", "县活动办", "county")
    made = []
    for t in range(teams):
        create_unit(f"T{t:02d}", f"工作队{t}", "team", "C")
    for g in range(groups):
        made.append(create_unit(f"G{g:03d}", f"工作组{g}", "group", f"T{g % teams:02d}"))
    officer = create_user("county", "secret", "county_officer", "C")
    db.session.commit()
    return officer, made


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def report(name: str, ours: float, baseline: float, target: float, figures: str) -> bool:
    ratio = ours / baseline
    print(f"{name}: {ratio:.2f} (target <= {target:g}) ours={ours:.3f}s baseline={baseline:.3f}s "
          f"{figures}")
    return ratio <= target
