"""Import of 100k target rows from .xlsx vs openpyxl read-only + one executemany, same run.

Each side starts from a fresh database holding only a county (11 teams, 143 groups, built by
`generate`'s tree builder). Ours: `import_targets` (read, check every row, upsert) + commit;
the baseline reads the same file with openpyxl (read-only) and inserts every row with one
executemany on the driver (sqlite3, or psycopg with --pg): no checks at all. Also shown:
importing the same file again (every row matched, nothing new).
"""
from __future__ import annotations

import io
import random
import time
from datetime import datetime, timezone

import openpyxl
from sqlalchemy import func, select

from bench.common import line, make_app
from casetrack import schema
from casetrack.extensions import db
from casetrack.models import Target, Unit, User
from casetrack.services.organisation.accounts import hash_password
from casetrack.services.dataset.generate import Counts, ensure_tree
from casetrack.services.fieldwork.targets import COLUMNS, KIND_LABELS

GROUPS = 143  # 11 teams of 13: one county


def workbook(rows: int, groups: list[str]) -> bytes:
    """A county's list: every column but the cadre filled, a code on every row."""
    rng = random.Random(9)
    kinds = [v["zh"] for v in KIND_LABELS.values()]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("走访对象")
    sheet.append([header for header, _en in COLUMNS.values()])
    for i in range(rows):
        g = i % len(groups)
        sheet.append([rng.choice(kinds), f"农户{i}", f"第{i % 50}组{i}号", f"村{g}", groups[g], "",
                      f"H{i:07d}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _county(databases):
    """An app on a fresh database with one county; returns (app, group codes)."""
    app = make_app(databases.new())
    with app.app_context():
        schema.upgrade()
        ensure_tree(GROUPS, hash_password("demo"), Counts())
        db.session.commit()
        codes = list(db.session.scalars(select(Unit.code).where(Unit.kind == "group").order_by(Unit.id)))
    return app, codes


def baseline(data: bytes) -> int:
    """openpyxl read-only, then one executemany into targets on the driver's connection."""
    conn = db.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT code, id FROM units WHERE kind = 'group'")
        groups = dict(cur.fetchall())
        kinds = {v["zh"]: k for k, v in KIND_LABELS.items()}
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        rows = book.worksheets[0].iter_rows(min_row=2, values_only=True)
        mark = "?" if db.engine.dialect.name == "sqlite" else "%s"
        if mark == "?":
            cur.execute("BEGIN")  # the app's connections leave BEGIN to us (casetrack/db/sqlite.py)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        cur.executemany(
            "INSERT INTO targets (kind, name, address, village, group_id, code, active, created_at,"
            f" updated_at) VALUES ({', '.join([mark] * 6)}, TRUE, {mark}, {mark})",
            [(kinds[r[0]], r[1], r[2], r[3], groups[r[4]], r[6], now, now) for r in rows])
        conn.commit()
        book.close()
        cur.execute("SELECT COUNT(*) FROM targets")
        return cur.fetchone()[0]
    finally:
        conn.close()


def run(databases, quick: bool) -> bool:
    from casetrack.services.fieldwork.targets import import_targets
    rows, rounds = (5_000, 3) if quick else (100_000, 1)
    best_ours = best_base = best_again = float("inf")
    for _ in range(rounds):
        app, codes = _county(databases)
        data = workbook(rows, codes)
        with app.app_context():
            start = time.perf_counter()
            assert baseline(data) == rows
            best_base = min(best_base, time.perf_counter() - start)
            db.session.remove()
            db.engine.dispose()
        app, _codes = _county(databases)
        with app.app_context():
            officer = db.session.scalars(select(User).where(User.role == "county_officer")).one()

            def ours():
                result = import_targets(officer, "list.xlsx", data)
                db.session.commit()
                return result
            start = time.perf_counter()
            assert ours() == {"imported": rows, "updated": 0}
            best_ours = min(best_ours, time.perf_counter() - start)
            start = time.perf_counter()
            assert ours() == {"imported": 0, "updated": rows}  # the same file again: nothing new
            best_again = min(best_again, time.perf_counter() - start)
            assert db.session.scalar(select(func.count(Target.id))) == rows
            db.session.remove()
            db.engine.dispose()
    return line("target_import", best_ours / best_base, "<=", 3,
                f"import_targets {best_ours:.2f} s, openpyxl read-only + one executemany "
                f"{best_base:.2f} s; {rows} rows, {len(data) // 1024} KiB .xlsx; importing it again "
                f"{best_again:.2f} s")
