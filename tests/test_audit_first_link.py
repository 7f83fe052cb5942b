"""audit-verify checks the link of a case's first event too: it must chain to nothing."""
import pytest
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import CaseEvent
from tests.helpers import case_in
from tests.test_audit import ids, raw


@pytest.fixture
def cases(world):
    cases = [case_in(world, "closed"), case_in(world, "team")]
    db.session.commit()
    return cases


def verify(runner, row: int, case_id: int) -> None:
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1, result.output
    assert f"case_events row {row} (case {case_id})" in result.output


def test_a_deleted_filing_is_named_by_the_event_left_first(app, runner, cases):
    """Cutting off the head of a case's trail leaves a first event that points at a row gone."""
    case_id, first, second, *_rest = ids(cases[0])
    raw(app).execute(f"DELETE FROM case_events WHERE id = {first}")
    verify(runner, second, case_id)


def test_a_first_event_chained_to_something_is_named_even_rehashed(app, runner, cases):
    """A first event given a predecessor and a hash recomputed to match: only its link shows it."""
    case_id, first, *_rest = ids(cases[1])
    victim = db.session.scalars(select(CaseEvent).where(CaseEvent.id == first)).one()
    db.session.expunge(victim)
    victim.prev_hash = "0" * 64
    forged = victim.digest()
    db.session.rollback()
    raw(app).execute("UPDATE case_events SET prev_hash = ?, hash = ? WHERE id = ?", ("0" * 64, forged, first))
    verify(runner, first, case_id)


def test_every_event_is_checked_once_whatever_the_batch(app, runner, cases):
    """The count audit-verify reports is the number of events, and a chain read in batches
    smaller than a case's trail links up across them."""
    from casetrack.services.integrity.audit import verify_chain
    total = db.session.query(CaseEvent).count()
    assert [verify_chain(batch) for batch in (1, 2, 5000)] == [(total, [])] * 3
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0 and f"{total} events checked, 0 problems" in result.output
