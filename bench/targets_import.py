"""Import of a target list from .xlsx, against the plainest import in the same run.

    python bench/targets_import.py           # 5,000 rows
    python bench/targets_import.py --full    # 100,000 rows

Prints `targets_import: <ratio> (target <= 3) ...`: the time of import_targets (read, check
every row, upsert, commit) divided by the time of reading the same file with openpyxl
(read-only) and inserting every row with one executemany, each on a fresh database.
"""
from __future__ import annotations

import argparse
import io
import random
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402

from bench._common import bench_app, county, report, timed  # noqa: E402
from casetrack.extensions import db  # noqa: E402
from casetrack.services.targets import COLUMNS, KIND_LABELS  # noqa: E402


def workbook(rows: int, groups: int) -> bytes:
    """A county's list: every column filled, a code on every row."""
    rng = random.Random(9)
    kinds = [v["zh"] for v in KIND_LABELS.values()]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("走访对象")
    sheet.append([header for header, _en in COLUMNS.values()])
    for i in range(rows):
        g = i % groups
        sheet.append([rng.choice(kinds), f"农户{i}", f"第{i % 50}组{i}号", f"村{g}", f"G{g:03d}",
                      "", f"H{i:07d}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def baseline(path: Path, data: bytes) -> int:
    """openpyxl read-only, then one executemany into targets: no checks at all."""
    con = sqlite3.connect(path)
    groups = dict(con.execute("SELECT code, id FROM units WHERE kind = 'group'"))
    kinds = {v["zh"]: k for k, v in KIND_LABELS.items()}
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = book.worksheets[0].iter_rows(min_row=2, values_only=True)
    now = "2026-06-01 00:00:00"
    con.executemany(
        "INSERT INTO targets (kind, name, address, village, group_id, code, active, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
        [(kinds[r[0]], r[1], r[2], r[3], groups[r[4]], r[6], now, now) for r in rows])
    con.commit()
    book.close()
    n = con.execute("SELECT COUNT(*) FROM targets").fetchone()[0]
    con.close()
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="100,000 rows")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = 100_000 if args.full else 5_000
    data = workbook(rows, 144)
    from casetrack.services.targets import import_targets

    best_ours = best_base = best_again = float("inf")
    for _ in range(args.repeat):
        with bench_app("import-base") as (_app, path):
            county()
            db.session.close()
            t_base, n = timed(lambda: baseline(path, data))
            assert n == rows
            best_base = min(best_base, t_base)
        with bench_app("import") as (_app, _path):
            officer, _groups = county()

            def ours():
                result = import_targets(officer, "list.xlsx", data)
                db.session.commit()
                return result
            t_ours, result = timed(ours)
            assert result == {"imported": rows, "updated": 0}, result
            best_ours = min(best_ours, t_ours)
            t_again, result = timed(ours)  # the same file again: nothing new
            assert result == {"imported": 0, "updated": rows}, result
            best_again = min(best_again, t_again)
    ok = report("targets_import", best_ours, best_base, 3,
                f"rows={rows} xlsx={len(data) // 1024}KiB reimport={best_again:.3f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
