"""The command line: init-db, demo (once, reproducible), create-user, create-token."""
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Unit, User
from casetrack.services.dataset.demo import DemoCounty, load_demo

ROOT = Path(__file__).resolve().parent.parent


def test_init_db_is_idempotent(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "0 categories added" in result.output


def test_demo_accounts_exist_and_loading_twice_changes_nothing(app):
    small = DemoCounty(teams=3, groups=14, members_per_group=2, departments=3, targets_per_group=3,
                       cases=60)
    assert load_demo("demo", small)
    db.session.commit()
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Unit, User, Case, CaseEvent)]
    assert not load_demo("demo", small)
    assert counts == [db.session.scalar(select(func.count()).select_from(m))
                      for m in (Unit, User, Case, CaseEvent)]
    roles = {u.username: (u.role, u.unit.code if u.unit else None)
             for u in db.session.scalars(select(User))}
    assert roles["county"] == ("county_officer", "county")
    assert roles["admin"] == ("admin", None)
    assert roles["team01"] == ("team_leader", "T01")
    assert roles["group001"] == ("group_leader", "G001")
    assert roles["group002"] == ("group_leader", "G002")
    assert roles["dept01"] == ("department_handler", "D01")
    g013 = db.session.scalars(select(Unit).where(Unit.code == "G013")).one()
    assert roles["group013"] == ("group_leader", "G013") and g013.parent.code != "T01"
    states = set(db.session.scalars(select(Case.state).distinct()))
    assert {"group", "team", "closed", "resolved"} <= states
    # petitions: some collective, some filed as cases, some of those taken down; 积案 with owners
    from casetrack.models import Petition, TakeDown
    petitions = db.session.scalars(select(Petition)).all()
    assert len(petitions) == 40 and any(p.collective for p in petitions)
    filed = [p.case for p in petitions if p.case_id]
    assert filed and all(c.source == "petition" for c in filed)
    assert db.session.scalar(select(func.count()).select_from(TakeDown)) > 0
    owned = db.session.scalars(select(Case).where(Case.owner_id.is_not(None))).all()
    assert len(owned) == 5 and len({c.owner_id for c in owned}) >= 3


def test_demo_is_reproducible(tmp_path):
    from casetrack import create_app

    def titles(n):
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / f'{n}.db'}",
                          "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
        with app.app_context():
            db.create_all()
            load_demo("demo", DemoCounty(teams=2, groups=13, members_per_group=1, departments=2,
                                         targets_per_group=2, cases=20))
            db.session.commit()
            rows = list(db.session.execute(select(Case.title, Case.state, Case.resident_name)
                                           .order_by(Case.id)))
            db.session.remove()
            db.engine.dispose()
            return rows
    assert titles(1) == titles(2)


def test_demo_command_prints_the_accounts(runner, app, monkeypatch):
    import casetrack.services.dataset.demo as demo
    monkeypatch.setattr(demo, "DemoCounty", lambda: DemoCounty(teams=2, groups=13, members_per_group=1,
                                                               departments=1, targets_per_group=1,
                                                               cases=5))
    result = runner.invoke(args=["demo", "--password", "pass1234"])
    assert result.exit_code == 0, result.output
    for name in ("county", "admin", "team01", "group001", "group002", "group013", "dept01"):
        assert name in result.output
    assert "pass1234" in result.output
    again = runner.invoke(args=["demo"])
    assert "already loaded" in again.output


def test_create_user_and_token(runner, client, world):
    result = runner.invoke(args=["create-user", "wang", "--role", "group_member", "--unit", "G2",
                                 "--password", "longpass"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["create-user", "li", "--role", "team_leader", "--unit", "G2",
                              "--password", "longpass"])
    assert bad.exit_code == 1 and "unit" in bad.output
    token = runner.invoke(args=["create-token", "wang"]).output.strip()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert (me["username"], me["role"], me["unit"]) == ("wang", "group_member", "G2")
    assert runner.invoke(args=["create-token", "nobody"]).exit_code == 1


WITHOUT_FAKER = """
import sys
sys.modules["faker"] = None   # as when the `demo` extra is not installed
from casetrack import create_app
runner = create_app().test_cli_runner()
for args in (["init-db"], ["generate", "--targets", "5", "--cases", "5"], ["demo"]):
    result = runner.invoke(args=args)
    print(args[0], result.exit_code, result.output.replace("\\n", " "))
"""


def test_without_faker_only_the_demo_is_missing_and_it_says_how_to_get_it(tmp_path):
    env = {**os.environ, "CASETRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CASETRACK_SECRET_KEY": "t"}
    out = subprocess.run([sys.executable, "-c", WITHOUT_FAKER], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    lines = {line.split(" ", 1)[0]: line for line in out.stdout.splitlines()}
    assert lines["init-db"].startswith("init-db 0 "), out.stdout + out.stderr
    assert lines["generate"].startswith("generate 0 ") and "5 cases" in lines["generate"], out.stdout
    assert lines["demo"].startswith("demo 1 ") and "pip install 'casetrack[demo]'" in lines["demo"], out.stdout
    assert "Traceback" not in out.stdout + out.stderr
