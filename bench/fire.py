"""Fire a transition through the service vs the ORM's plain get + update + insert + commit."""
from __future__ import annotations

import time

from sqlalchemy import select

from bench import common
from bench.common import line, populated, sized
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, User
from casetrack.services.calendar import add_working_days, now, today
from casetrack.services.cases import default_workflow, file_case, fire, get_case


def run(databases, quick: bool) -> bool:
    n = 300 if quick else 3000
    # province: on case_list's data set of 5M cases (a copy), where the full size has its own 20k
    url = databases.data(cases=2000 if quick else sized(1_000_000) if common.scale > 1 else 20000, copy=True)
    try:
        with populated(url):
            actor = db.session.scalars(select(User).where(User.role == "group_leader")
                                       .order_by(User.id)).first()
            ids = [file_case(actor, title="村道坑洼", category="infrastructure", kind="individual").id
                   for _ in range(2 * n)]
            db.session.commit()
            group_id, team_id, actor_id = actor.unit_id, actor.unit.parent_id, actor.id
            deadline = add_working_days(today(), default_workflow().states["team"].deadline_days)

            # Each op is one request's work: it starts by loading its user (as Flask-Login does).
            def service(cid: int) -> None:
                user = db.session.get(User, actor_id)
                case = get_case(user, cid)
                fire(case, "escalate", user, version=case.version, reason="需要工作队协调")
                db.session.commit()

            def plain(cid: int) -> None:
                db.session.get(User, actor_id)
                case = db.session.get(Case, cid)
                case.state, case.unit_id, case.deadline, case.updated_at = "team", team_id, deadline, now()
                db.session.add(CaseEvent(case_id=cid, at=case.updated_at, actor_id=actor_id,
                                         trigger="escalate", from_state="group", to_state="team",
                                         from_unit_id=group_id, to_unit_id=team_id,
                                         data={"reason": "需要工作队协调"}))
                db.session.commit()

            t_service = t_plain = 0.0
            for a, b in zip(ids[::2], ids[1::2]):  # interleaved, so both see the same machine state
                start = time.perf_counter()
                service(a)
                t_service += time.perf_counter() - start
                start = time.perf_counter()
                plain(b)
                t_plain += time.perf_counter() - start
            escalated = db.session.scalar(select(db.func.count()).where(Case.state == "team",
                                                                        Case.id.in_(ids)))
            assert escalated == 2 * n, escalated
            models = len(default_workflow().machine.models)
            return line("fire_transition", t_service / t_plain, "<=", 1.5,
                        f"service {1000 * t_service / n:.2f} ms/op, ORM get+update+insert+commit "
                        f"{1000 * t_plain / n:.2f} ms/op, n={n}, len(machine.models) == {models}")
    finally:
        databases.drop(url)
