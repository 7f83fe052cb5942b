"""Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from casetrack import create_app, schema
from casetrack.extensions import db
from casetrack.models import Category
from casetrack.models.reference import REFERENCE_TABLES


def _app(url):
    return create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test"})


def _schema_differences():
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def _triggers() -> set[str]:
    """The names of the database's own triggers (the append-only guard of case_events)."""
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if db.engine.dialect.name == "sqlite"
           else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with db.engine.connect() as connection:
        return set(connection.exec_driver_sql(sql).scalars())


def _revision():
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_init_db_migrates_an_empty_database_to_the_models(empty_database_url):
    app = _app(empty_database_url)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "migrated" in result.output
        assert _schema_differences() == []
        head = ScriptDirectory.from_config(schema.alembic_config()).get_current_head()
        assert _revision() == head
        assert _triggers() == {"sqlite": {"case_events_no_update", "case_events_no_delete"} | {
                                   f"{t}_{v}_version" for t in REFERENCE_TABLES for v in ("insert", "update", "delete")},
                               "postgresql": {"case_events_no_change"} | {f"{t}_version" for t in REFERENCE_TABLES},
                               }[db.engine.dialect.name]
        again = app.test_cli_runner().invoke(args=["init-db"])
        assert again.exit_code == 0, again.output
        assert "(0 categories added)" in again.output
        # the standard 20, and the two of the rectification campaign's own that they lack (背街小巷, 公益广告)
        assert db.session.scalar(select(func.count()).select_from(Category)) == 22
        db.session.remove()
        db.engine.dispose()


def test_init_db_adopts_a_database_made_without_migrations(empty_database_url):
    app = _app(empty_database_url)
    with app.app_context():
        db.create_all()
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "stamped" in result.output
        assert _revision() is not None
        assert _schema_differences() == []
        db.session.remove()
        db.engine.dispose()


def _downgrade(revision: str) -> None:
    from alembic import command
    cfg = schema.alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
    db.session.remove()


def _as_before_0010(connection) -> None:
    """Rechain every event with the unkeyed sha256 events carried before migration 0010."""
    from casetrack.models import CaseEvent
    from casetrack.models.cases import APPEND_ONLY
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER case_events_no_update")
    else:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    last: dict[int, str] = {}
    for row in connection.execute(select(CaseEvent.__table__).order_by(CaseEvent.id)).mappings().all():
        ev = CaseEvent(**row)
        ev.prev_hash = last.get(ev.case_id, "")
        connection.execute(CaseEvent.__table__.update().where(CaseEvent.id == ev.id).values(
            prev_hash=ev.prev_hash, hash=ev.unkeyed_digest()))
        last[ev.case_id] = ev.unkeyed_digest()
    if dialect == "sqlite":
        connection.exec_driver_sql(APPEND_ONLY["sqlite"][0])


def test_0010_seals_the_cases_of_an_older_database_with_the_key(empty_database_url):
    """A database from before 0010 (unkeyed event hashes, no head on the case rows) verifies
    whole after the upgrade, and a case row edited afterwards is found."""
    from tests.factories import build_world
    from tests.helpers import case_in
    app = _app(empty_database_url)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        world = build_world()
        closed, open_ = case_in(world, "closed").id, case_in(world, "team").id
        db.session.delete(world.users["leader"])   # no downgrade below 0013 keeps a leader
        db.session.commit()
        _downgrade("0009")
        with db.engine.begin() as connection:
            _as_before_0010(connection)
        db.session.remove()
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0 and "migrated" in result.output, result.output
        assert _schema_differences() == []
        result = app.test_cli_runner().invoke(args=["audit-verify"])
        assert result.output == "5 events checked, 0 problems\n" and result.exit_code == 0

        db.session.remove()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"UPDATE cases SET state = 'closed' WHERE id = {open_}")
        result = app.test_cli_runner().invoke(args=["audit-verify"])
        assert result.exit_code == 1 and f"case {open_}: case row altered" in result.output
        assert f"case {closed}:" not in result.output
        db.session.remove()
        db.engine.dispose()


def test_0028_counts_the_targets_first_reached_and_visited_of_an_older_database(empty_database_url):
    """A database from before 0028 has no `first_reach` nor `first_own_visit` rows; after the
    upgrade it has the rows a rebuild would give: each target once, on the day it was first
    reached (a meeting's further households too) and first visited, a leader's place (not active)
    included."""
    from datetime import date

    from casetrack.models import DailyFigure, Target, Visit, visit_targets
    from casetrack.services.figures.definitions import figures_of_targets
    from tests.factories import build_world
    app = _app(empty_database_url)
    figures = ("first_reach", "first_own_visit")

    def rows():
        return {(g, d, f, x): n for g, d, f, x, n in db.session.execute(select(
            DailyFigure.group_id, DailyFigure.day, DailyFigure.figure, DailyFigure.detail, DailyFigure.n)
            .where(DailyFigure.figure.in_(figures))) if n}

    with app.app_context():
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        world = build_world()
        g1, g2 = world.units["G1"].id, world.units["G2"].id
        homes = [Target(kind="farm_household", name=f"户{i}", group_id=g1) for i in range(3)]
        place = Target(kind="place", name="村委会", group_id=g2, active=False)
        db.session.add_all([*homes, place])
        db.session.flush()
        meeting = Visit(target_id=homes[0].id, group_id=g1, visited_on=date(2026, 6, 3))
        db.session.add_all([meeting, Visit(target_id=homes[0].id, group_id=g1, visited_on=date(2026, 5, 28)),
                            Visit(target_id=homes[1].id, group_id=g1, visited_on=date(2026, 6, 9)),
                            Visit(target_id=place.id, group_id=g2, visited_on=date(2026, 6, 10))])
        db.session.flush()
        db.session.execute(visit_targets.insert(), [{"visit_id": meeting.id, "target_id": t.id}
                                                    for t in homes[1:]])
        db.session.commit()
        expected = {k: v[0] for k, v in figures_of_targets(None).items() if k[2] in figures}
        assert expected[g1, date(2026, 6, 3), "first_reach", "farm_household"] == 2       # 户1, 户2 at the meeting
        assert expected[g1, date(2026, 6, 9), "first_own_visit", "farm_household"] == 1   # 户1 on its own
        assert expected[g2, date(2026, 6, 10), "first_reach", "place"] == 1
        db.session.remove()
        _downgrade("0027_photo_queue")
        assert rows() == {}
        db.session.remove()
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0 and "migrated" in result.output, result.output
        assert rows() == expected
        db.session.remove()
        db.engine.dispose()


def test_0029_keys_the_daily_figures_by_group_then_day_and_keeps_every_row(empty_database_url):
    """After 0029 a unit's figures are one range of the key per group (a team's bulletin reads
    its groups' rows, not the county's); downgraded, the old key; every row kept both ways."""
    from sqlalchemy import inspect

    from casetrack.services.figures.summaries import table_rows
    from tests.factories import build_world
    app = _app(empty_database_url)

    def key() -> list[str]:
        db.session.remove()   # the session's connection lets go of SQLite's writer lock
        return inspect(db.engine).get_pk_constraint("daily_figures")["constrained_columns"]

    with app.app_context():
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        world = build_world()
        for group in ("group1", "group2", "group3"):
            world.file(group)
        db.session.commit()
        rows = table_rows()
        assert len({g for g, _d, _f, _x in rows}) == 3
        assert key() == ["figure", "group_id", "day", "detail"]
        _downgrade("0028_first_reach")
        assert key() == ["figure", "day", "group_id", "detail"] and table_rows() == rows
        db.session.remove()
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        assert key() == ["figure", "group_id", "day", "detail"] and table_rows() == rows
        db.session.remove()
        db.engine.dispose()
