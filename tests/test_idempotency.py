"""Idempotency-Key on POST /api/v1/cases and /api/v1/visits (issue 25): a phone that sends a
create again, because the answer was lost, gets the first answer and nothing is made twice."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from casetrack.extensions import db
from casetrack.models import Case, IdempotentRequest, Visit
from casetrack.services.workdays.calendar import now
from casetrack.services.fieldwork.targets import create_target

CASE = {"title": "村道坑洼", "category": "infrastructure", "kind": "individual",
        "resident": {"name": "王五", "phone": "13900000000", "address": "王家组1号"}}


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def post(token, path, body, key):
    return token.client.post(f"/api/v1{path}", json=body, headers={**token.headers, "Idempotency-Key": key})


def test_a_repeated_key_answers_the_first_answer_and_files_once(api, world):
    token = api("group1")
    first = post(token, "/cases", CASE, "k-1")
    assert first.status_code == 201
    again = post(token, "/cases", {**CASE}, "k-1")
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Case) == 1

    changed = post(token, "/cases", {**CASE, "title": "另一个问题"}, "k-1")
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json["errors"]
    assert count(Case) == 1
    # keys are per user, and without a key every request files
    assert post(api("member1"), "/cases", CASE, "k-1").status_code == 201
    assert token.post("/cases", json=CASE).status_code == 201
    assert token.post("/cases", json=CASE).status_code == 201
    assert count(Case) == 4


def test_a_refused_request_keeps_no_key_and_a_key_lasts_a_day(api, world):
    token = api("group1")
    assert post(token, "/cases", {**CASE, "category": "nonsense"}, "k-2").status_code == 422
    assert post(token, "/cases", CASE, "k-2").status_code == 201     # corrected and sent again
    assert count(Case) == 1
    db.session.execute(update(IdempotentRequest).values(created_at=now() - timedelta(hours=25)))
    db.session.commit()
    assert post(token, "/cases", {**CASE, "title": "次日的问题"}, "k-2").status_code == 201
    assert count(Case) == 2


def test_a_bad_key_is_refused_with_a_message(api, world):
    token = api("group1")
    for key in ("", " ", "x" * 201, "é"):
        r = token.client.post("/api/v1/cases", json=CASE, headers={**token.headers, "Idempotency-Key": key})
        assert r.status_code == 422 and "Idempotency-Key" in r.json["errors"], key
    assert count(Case) == 0


def test_visits_honour_the_key(api, world):
    target = create_target(world.users["county"], kind="farm_household", name="王户", group="G1")
    db.session.commit()
    token = api("member1")
    body = {"target": target.id, "date": "2026-06-09", "problems": [CASE]}
    first = post(token, "/visits", body, "visit-1")
    again = post(token, "/visits", body, "visit-1")
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert (count(Visit), count(Case)) == (1, 1)
    assert post(token, "/visits", {**body, "date": "2026-06-08"}, "visit-1").status_code == 422


def test_two_requests_at_once_with_one_key_file_one_case(api, world):
    token = api("group1")
    for round_ in range(3):
        start, answers = threading.Barrier(2), []

        def send():
            start.wait()
            answers.append(post(token, "/cases", CASE, f"race-{round_}"))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[0].json["id"] == answers[1].json["id"]
        assert count(Case) == round_ + 1
