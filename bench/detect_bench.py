"""Benchmark: shared-problem detection over many open cases, against one pass reading the texts.

    .venv/bin/python bench/detect_bench.py --cases 100000

Builds an SQLite database of a county (11 teams, 144 groups) with N open cases filed in the
last 30 days (the demo's problem wordings plus random Chinese sentences, villages in the
addresses), then times for the county office: the baseline (one SELECT reading every open
case's title and description in scope) and `proposals()`. Prints one JSON line with the ratio.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

# The repository, not bench/ (whose http.py would shadow the standard library's http).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from faker import Faker  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from casetrack import create_app  # noqa: E402
from casetrack.extensions import db  # noqa: E402
from casetrack.models import Case, Category, User  # noqa: E402
from casetrack.services.workdays import calendar  # noqa: E402
from casetrack.services.organisation import org
from casetrack.services.organisation.accounts import create_user  # noqa: E402
from casetrack.services.casework.cases import scoped_cases  # noqa: E402
from casetrack.services.dataset.demo import PROBLEMS  # noqa: E402
from casetrack.services.casework.shared import proposals  # noqa: E402

NOW = datetime(2026, 6, 10, 2, tzinfo=timezone.utc)


def build(cases: int, seed: int = 6) -> None:
    rnd, fake = random.Random(seed), Faker("zh_CN")
    fake.seed_instance(seed)
    db.create_all()
    org.ensure_categories()
    org.create_unit("C", "县活动办", "county")
    groups = []
    for t in range(11):
        org.create_unit(f"T{t}", f"第{t}工作队", "team", "C")
        groups += [org.create_unit(f"G{t}_{g}", f"工作组{t}-{g}", "group", f"T{t}") for g in range(13)]
    create_user("county", "bench-password", "county_officer", "C", name="county")
    db.session.commit()
    categories = {c.code: c.id for c in db.session.scalars(select(Category))}
    villages = [fake.last_name() + rnd.choice("家王李张赵") + "村" for _ in range(600)]
    sentences = [fake.sentence(nb_words=8) for _ in range(5000)]
    rows = []
    for i in range(cases):
        group = rnd.choice(groups)
        code = rnd.choice(list(PROBLEMS))
        at = NOW - timedelta(minutes=rnd.randrange(29 * 24 * 60))
        title = rnd.choice(PROBLEMS[code]) if rnd.random() < 0.3 else rnd.choice(sentences)[:60]
        rows.append({"title": title,
                     "description": rnd.choice(sentences), "category_id": categories[code],
                     "kind": "individual", "group_id": group.id, "unit_id": group.id, "state": "group",
                     "resident_address": f"某镇{rnd.choice(villages)}{rnd.randrange(1, 9)}组"
                     if rnd.random() < 0.5 else "", "resident_name": "", "resident_phone": "",
                     "workflow": "campaign", "workflow_version": 1, "version": 1,
                     "created_at": at, "updated_at": at, "found_on": at.astimezone(calendar.SHANGHAI).date()})
        if len(rows) == 50_000:
            db.session.execute(insert(Case), rows)
            rows = []
    if rows:
        db.session.execute(insert(Case), rows)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casetrack-bench-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'd.db'}", "SECRET_KEY": "bench",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 15}}})
    try:
        with app.app_context(), calendar.at(NOW):
            build(args.cases)
            user = db.session.scalars(select(User).where(User.username == "county")).one()
            start = time.perf_counter()
            texts = sum(len(t) + len(d) for t, d in db.session.execute(
                scoped_cases(user).with_only_columns(Case.title, Case.description)))
            base = time.perf_counter() - start
            start = time.perf_counter()
            found = proposals(user)
            took = time.perf_counter() - start
            db.engine.dispose()
        print(json.dumps({"cases": args.cases, "characters": texts, "baseline_s": round(base, 3),
                          "detect_s": round(took, 2), "ratio": round(took / base, 1),
                          "proposals": len(found),
                          "largest": max((len(p["cases"]) for p in found), default=0)}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
