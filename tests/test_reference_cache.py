"""Each process keeps the categories, days off and webhooks a filing reads; any change, by any
worker or by hand in the database, counts for the next filing."""
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, update

from casetrack.extensions import db
from casetrack.models import Category, DayOff, Webhook, WebhookDelivery
from casetrack.services.organisation import org
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.workdays.calendar import today
from tests.test_filing_speed import BODY


def elsewhere(statement) -> None:
    """A change committed by another worker (its own connection), not by this process's services."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def test_a_category_deactivated_elsewhere_is_refused_at_once(api, world):
    group = api("group1")
    assert group.post("/cases", json=BODY).status_code == 201
    elsewhere(update(Category).where(Category.code == "infrastructure").values(active=False))
    r = group.post("/cases", json=BODY)
    assert r.status_code == 422 and "category" in r.json["errors"]
    elsewhere(update(Category).where(Category.code == "infrastructure").values(active=True))
    assert group.post("/cases", json=BODY).status_code == 201


def test_a_category_added_elsewhere_is_accepted_at_once(api, world):
    group = api("group1")
    assert group.post("/cases", json={**BODY, "category": "wild_boars"}).status_code == 422
    elsewhere(insert(Category).values(code="wild_boars", name_zh="野猪伤人", name_en="Wild boars",
                                      active=True, position=99))
    r = group.post("/cases", json={**BODY, "category": "wild_boars"})
    assert r.status_code == 201 and r.json["category"] == "wild_boars"


def test_a_day_off_declared_elsewhere_moves_the_next_deadline(api, world):
    group = api("group1")
    before = date.fromisoformat(group.post("/cases", json=BODY).json["deadline"])
    # Every day up to the deadline declared off: the next filing's deadline must move past them.
    days = [today() + timedelta(days=n) for n in range(1, (before - today()).days + 1)]
    elsewhere(insert(DayOff).values([{"day": d, "reason": "县庆"} for d in days]))
    after = date.fromisoformat(group.post("/cases", json=BODY).json["deadline"])
    assert after > before + timedelta(days=4)


def test_a_webhook_deactivated_elsewhere_gets_no_more_deliveries(api, world):
    db.session.add(Webhook(url="http://127.0.0.1:9/hook", secret="s" * 32, description=""))
    db.session.commit()
    group = api("group1")
    group.post("/cases", json=BODY)
    elsewhere(update(Webhook).values(active=False))
    group.post("/cases", json=BODY)
    db.session.expire_all()
    assert db.session.query(WebhookDelivery).count() == 1


def test_a_copy_taken_in_a_transaction_rolled_back_is_never_used(api, world):
    """A filing in the transaction that deactivated a category sees it inactive; rolled back,
    the category is accepted again, even after another change is committed."""
    org.set_active(db.session.scalars(db.select(Category).filter_by(code="infrastructure")).one(), False)
    with pytest.raises(ValidationFailed):
        world.file("group1")
    db.session.rollback()
    elsewhere(insert(Category).values(code="wild_boars", name_zh="野猪伤人", name_en="Wild boars",
                                      active=True, position=99))
    assert api("group1").post("/cases", json=BODY).status_code == 201


def test_audit_verify_passes_after_many_filings_and_moves(api, world, runner):
    group = api("group1")
    for n in range(30):
        case = group.post("/cases", json={**BODY, "title": f"问题{n}"}).json
        if n % 3 == 0:
            r = group.post(f"/cases/{case['id']}/transitions",
                           json={"trigger": "escalate", "version": case["version"], "reason": "组内无法解决"})
            assert r.status_code == 200, r.json
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output


def test_a_filing_rolled_back_in_a_savepoint_leaves_the_session(world):
    """Written outside the unit of work, the case still goes when its savepoint is rolled back."""
    with db.session.begin_nested() as savepoint:
        case = world.file("group1")
        assert case in db.session
        savepoint.rollback()
    assert case not in db.session
    kept = world.file("group1")
    db.session.commit()
    assert kept.id is not None and kept in db.session
