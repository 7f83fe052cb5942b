"""The generator: a consistent, realistic data set, the same for the same seed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from casetrack import create_app
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Target, Unit, User, Visit
from casetrack.services.integrity.audit import verify_chain
from casetrack.services.casework.cases import fire, workflow_of
from casetrack.services.dataset.generate import generate


def _fingerprint():
    return db.session.execute(select(Case.id, Case.title, Case.state, Case.kind, Case.group_id,
                                     Case.unit_id, Case.deadline).order_by(Case.id)).all()


def test_generate_makes_a_county_with_cases_in_every_state(app, runner):
    result = runner.invoke(args=["generate", "--targets", "3000", "--cases", "400",
                                 "--visits", "500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "400 cases" in result.output
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert (count(Target), count(Visit), count(Case)) == (3000, 500, 400)
    kinds = dict(db.session.execute(select(Unit.kind, func.count()).group_by(Unit.kind)).all())
    assert kinds["county"] == 1 and kinds["group"] == 3 and kinds["department"] >= 1
    states = set(db.session.scalars(select(Case.state).distinct()))
    case = db.session.scalars(select(Case).limit(1)).one()
    assert states == set(workflow_of(case).states)

    # every case's timeline starts with its filing and ends where the case is now
    events: dict[int, list[CaseEvent]] = {}
    for e in db.session.scalars(select(CaseEvent).order_by(CaseEvent.id)):
        events.setdefault(e.case_id, []).append(e)
    for c in db.session.scalars(select(Case)):
        timeline = events[c.id]
        assert timeline[0].trigger == "file"
        assert (timeline[-1].to_state, timeline[-1].to_unit_id) == (c.state, c.unit_id)
        assert all(a.to_state == b.from_state for a, b in zip(timeline, timeline[1:]))
        assert c.version == len(timeline)
        assert c.group.contains(c.unit) or c.unit.kind in ("county", "department") \
            or c.unit.contains(c.group)
        if c.state in ("group", "team", "county", "department", "resolved"):
            assert c.deadline is not None
    assert verify_chain() == (sum(map(len, events.values())), [])  # the audit trail holds


def test_a_generated_case_is_worked_on_like_any_other(app, runner):
    assert runner.invoke(args=["generate", "--cases", "100", "--seed", "3"]).exit_code == 0
    case = db.session.scalars(select(Case).where(Case.state == "department").limit(1)).one()
    handler = db.session.scalars(select(User).where(User.unit_id == case.department_id)).first()
    fire(case, "resolve", handler, version=case.version, resolution="已修好")
    db.session.commit()
    assert case.state == "resolved"
    assert db.session.scalar(select(func.count()).where(CaseEvent.case_id == case.id)) == case.version


def test_the_same_seed_gives_the_same_data(app, empty_database_url):
    generate(200, 300, 100, seed=11)
    db.session.commit()
    first = _fingerprint()
    other = create_app({"DATABASE_URL": empty_database_url, "TESTING": True, "SECRET_KEY": "test"})
    with other.app_context():
        db.create_all()
        generate(200, 300, 100, seed=11)
        db.session.commit()
        again = _fingerprint()
        units = db.session.scalar(select(func.count()).select_from(Unit))
        generate(0, 50, 0, seed=12)  # a second run adds cases to the same tree
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Unit)) == units
        assert db.session.scalar(select(func.count()).select_from(Case)) == 350
        db.session.remove()
        db.engine.dispose()
    assert first == again
    assert len(first) == 300


def test_generating_into_empty_tables_leaves_every_index_and_foreign_key(app):
    """The generator builds indexes and foreign keys once at the end: they are all back, and
    the keys hold (PostgreSQL validates them when they are added again)."""
    generate(100, 200, 100, seed=5)
    db.session.commit()
    inspector = inspect(db.engine)
    for model in (Target, Visit, Case, CaseEvent):
        table = model.__table__
        assert {i["name"] for i in inspector.get_indexes(table.name)} >= {i.name for i in table.indexes}
        assert {tuple(k["constrained_columns"]) for k in inspector.get_foreign_keys(table.name)} == \
            {tuple(c.name for c in k.columns) for k in table.foreign_key_constraints}
    row = db.session.execute(select(Case.__table__).limit(1)).mappings().one()
    with pytest.raises(IntegrityError):  # a case of no category is refused again
        db.session.execute(insert(Case.__table__), [{**row, "id": 10**6, "category_id": 999_999}])
    db.session.rollback()
