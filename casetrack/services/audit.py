"""The tamper-evident audit trail: check every case's chain of event hashes."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import CaseEvent


@dataclass
class Finding:
    event_id: int
    case_id: int
    problem: str


def verify_chain(batch: int = 5000) -> tuple[int, list[Finding]]:
    """(events checked, findings): each row whose content or link does not match its hash."""
    findings: list[Finding] = []
    last: dict[int, str] = {}
    checked, after = 0, 0
    while True:
        rows = list(db.session.scalars(select(CaseEvent).where(CaseEvent.id > after)
                                       .order_by(CaseEvent.id).limit(batch)))
        if not rows:
            return checked, findings
        for ev in rows:
            expected_prev = last.get(ev.case_id, "")
            if ev.prev_hash != expected_prev:
                findings.append(Finding(ev.id, ev.case_id,
                                        "link broken: an event before it was removed or altered"))
            elif ev.digest() != ev.hash:
                findings.append(Finding(ev.id, ev.case_id, "content altered"))
            last[ev.case_id] = ev.hash
            checked += 1
        after = rows[-1].id
        db.session.expunge_all()
