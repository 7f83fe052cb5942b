"""Cases (problems found on visits) and their append-only event log."""
from __future__ import annotations

import functools
import hashlib
import hmac
from datetime import date, datetime, timezone
from decimal import Decimal
from operator import itemgetter
from typing import Any

from flask import current_app
from sqlalchemy import (DDL, JSON, CheckConstraint, Date, Float, ForeignKey, Index, Numeric, String, Text,
                        bindparam, event, inspect, literal_column, select, text)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import (Mapped, Session, make_transient_to_detached, mapped_column,
                            relationship)

from casetrack.canonical import canonical_json
from casetrack.db.at_commit import write_at_commit
from casetrack.db.bulk import driver_marks, driver_rows, insert_many
from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.org import Category, Unit, User
from casetrack.models.visits import Target, Visit
from casetrack.workflow import URGENCIES

CASE_KINDS = ("individual", "shared")
# Events every workflow has that move no case: a progress report (进展反馈) and the filing
# group's record that it told the resident (反馈群众).
PROGRESS, FEEDBACK = "progress", "feedback"
# Where a case came from: a visit (走访), a petition received (接访) or an inspection (督查).
CASE_SOURCES = ("visit", "petition", "inspection")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"kind IN {CASE_KINDS}", name="kind"),
        CheckConstraint(f"source IN {CASE_SOURCES}", name="source"),
        CheckConstraint(f"urgency IN {URGENCIES}", name="urgency"),
        CheckConstraint("funds IS NULL OR funds >= 0", name="funds"),
        CheckConstraint("donations IS NULL OR donations >= 0", name="donations"),
        Index("ix_cases_unit_state", "unit_id", "state", "id"),
        Index("ix_cases_group_id_id", "group_id", "id"),
        Index("ix_cases_state_deadline", "state", "deadline"),
        Index("ix_cases_state_id", "state", "id"),  # a list filtered by state, paged by id
        Index("ix_cases_group_state", "group_id", "state", "id"),  # a group's list by state
        Index("ix_cases_source_created", "source", "created_at"),  # the bulletin's petition cases of a period
        # Partial: most cases have no parent, and a full index's statistics (one NULL key holding
        # almost every row) made SQLite scan the table to find a shared problem's members.
        Index("ix_cases_parent_id", "parent_id", sqlite_where=text("parent_id IS NOT NULL"),
              postgresql_where=text("parent_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), comment="individual (个性) or shared (共性)")
    urgency: Mapped[str] = mapped_column(String(8), default=URGENCIES[0], server_default=URGENCIES[0],
                                         comment="normal (一般) or urgent (紧急): the workflow's deadlines may differ")
    resident_name: Mapped[str] = mapped_column(String(60), default="", comment="personal data")
    resident_phone: Mapped[str] = mapped_column(String(30), default="", comment="personal data")
    resident_address: Mapped[str] = mapped_column(String(200), default="", comment="personal data")
    resident_id_tail: Mapped[str] = mapped_column(String(6), default="", server_default="",
                                                  comment="personal data: the last 4 to 6 characters of the resident's "
                                                          "ID card (身份证号后几位), never the whole number")
    resident_email: Mapped[str] = mapped_column(String(120), default="", server_default="",
                                                comment="personal data (Open311's email)")
    # Where the problem is, which need not be where the resident lives (a road, a bridge, a
    # canal): kept apart from resident_address, with the coordinates it describes.
    lat: Mapped[float | None] = mapped_column(Float, comment="latitude, WGS-84 degrees")
    long: Mapped[float | None] = mapped_column(Float, comment="longitude, WGS-84 degrees")
    location_accuracy: Mapped[float | None] = mapped_column(Float, comment="metres, as the device gave it")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="",
                                         comment="where the problem is")
    media_url: Mapped[str] = mapped_column(String(500), default="", server_default="",
                                           comment="a photo's URL sent by another system (Open311)")
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the filing work group")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the unit handling it now")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id"), index=True, comment="the department it was last referred to; it sees the case")
    resolved_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id"), comment="the unit that resolved it; a dissatisfied call-back reopens there")
    source: Mapped[str] = mapped_column(String(12), default="visit", server_default="visit",
                                        comment="visit (走访) or petition (接访)")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), index=True,
        comment="the user its workflow's user field named (包案领导): sees the case and acts where the state says")
    state: Mapped[str] = mapped_column(String(30))
    deadline: Mapped[date | None] = mapped_column(comment="act by this day (working days, Asia/Shanghai)")
    revisit_on: Mapped[date | None] = mapped_column(comment="for an explained case: when to look again")
    revisit_told_for: Mapped[date | None] = mapped_column(
        comment="the revisit day the sweep last brought the case back to its holder for")
    funds: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), comment="public funds, 万元")
    donations: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), comment="social donations, 万元")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id"), comment="the shared problem (共性问题) this case is linked into")
    warn_on: Mapped[date | None] = mapped_column(comment="pre-warn the handler from this day")
    warned_for: Mapped[date | None] = mapped_column(comment="the deadline a pre-warning was sent for")
    overdue_for: Mapped[date | None] = mapped_column(comment="the deadline an overdue flag was raised for")
    campaign: Mapped[str] = mapped_column(String(40), default="visit", server_default="visit",
                                          comment="the campaign (活动) it belongs to: workflows/campaigns.yaml")
    workflow: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int]
    version: Mapped[int] = mapped_column(default=1, comment="optimistic lock")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    found_on: Mapped[date] = mapped_column(comment="the day the visit or reception found it (Asia/Shanghai); "
                                                   "the bulletin counts a problem found on it")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chain_head: Mapped[str] = mapped_column(String(64), default="", server_default="",
                                            comment="hash of the case's newest event: its chain's head")
    seal: Mapped[str] = mapped_column(String(64), default="", server_default="",
                                      comment="HMAC over the id, chain_head and SEALED_COLUMNS: the row as its events left it")

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship(lazy="joined")
    group: Mapped[Unit] = relationship(foreign_keys=[group_id], lazy="joined")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    department: Mapped[Unit | None] = relationship(foreign_keys=[department_id])
    resolved_unit: Mapped[Unit | None] = relationship(foreign_keys=[resolved_unit_id])
    target: Mapped[Target | None] = relationship()
    visit: Mapped[Visit | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    parent: Mapped[Case | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Case {self.id} {self.state}>"


class CaseAssist(db.Model):
    """An assisting department (协办) of a referred case: it sees the case and adds progress
    notes; only the lead department (Case.department_id) moves it."""
    __tablename__ = "case_assists"
    # A department's scope reads the cases it assists by unit_id: the primary key's second column.
    __table_args__ = (Index("ix_case_assists_unit_case", "unit_id", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True,
                                         comment="an assisting department")

    unit: Mapped[Unit] = relationship(lazy="joined")


def audit_key() -> bytes:
    """The chain's HMAC key (config AUDIT_KEY): kept out of the database, so that someone who
    can write the database cannot compute a hash the chain accepts."""
    return current_app.config["AUDIT_KEY"].encode()


def _mac(key: bytes, text: str) -> str:
    return hmac.digest(key, text.encode(), "sha256").hex()


def _chain_hash(key: bytes, *fields: Any) -> str:
    """HMAC-SHA256 of an event's fields (prev_hash, case_id, at as UTC ISO text, actor_id,
    trigger, from_state, to_state, from_unit_id, to_unit_id, data) as canonical JSON: every
    writer of events (the ORM, the bulk writers, the generator) and the verifier hash this."""
    return _mac(key, canonical_json(fields))


# The columns of a case its events change (and those that decide who sees it): the seal binds
# them to the case's chain head, so a row edited in the database, or a chain cut short, shows.
SEALED_COLUMNS = ("state", "unit_id", "group_id", "department_id", "resolved_unit_id", "parent_id",
                  "deadline", "revisit_on", "funds", "donations")


def _money(value) -> str | None:
    # SQLite hands back 2.5 or 3 for NUMERIC(12,2), the ORM Decimal('2.50'): one text for all
    return None if value is None else f"{value:.2f}"


def _day(value) -> str | None:
    # SQLite's driver hands back a date as its ISO text, PostgreSQL's a date
    return value if value is None or isinstance(value, str) else value.isoformat()


def _sealed_forms(table) -> tuple:
    return tuple(_money if isinstance(table.c[name].type, Numeric) else
                 _day if isinstance(table.c[name].type, Date) else None for name in SEALED_COLUMNS)


def case_seal(key: bytes, case_id: int, chain_head: str, values) -> str:
    """The seal of a case: its id, chain head and SEALED_COLUMNS' `values` (in that order, as the
    ORM or the driver gives them)."""
    fields = [case_id, chain_head]
    for form, value in zip(_SEALED_FORMS, values):
        fields.append(form(value) if form else value)
    return _mac(key, canonical_json(fields))


class CaseEvent(db.Model):
    """One thing that happened to a case; rows are only ever added."""
    __tablename__ = "case_events"
    # Bulletins count the events of a period: a range scan on `at`.
    __table_args__ = (Index("ix_case_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), comment="None for the system")
    trigger: Mapped[str] = mapped_column(String(40), comment="'file' for the filing itself")
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, comment="every field given")
    prev_hash: Mapped[str] = mapped_column(String(64), default="", comment="hash of the case's previous event")
    hash: Mapped[str] = mapped_column(String(64), default="",
                                      comment="HMAC-SHA256 (the app's AUDIT_KEY) over prev_hash and this row: "
                                              "the tamper-evident chain")

    def _fields(self) -> tuple:
        return (self.prev_hash, self.case_id, self.at.astimezone(timezone.utc).isoformat(), self.actor_id,
                self.trigger, self.from_state, self.to_state, self.from_unit_id, self.to_unit_id, self.data)

    def digest(self, key: bytes | None = None) -> str:
        """The row's hash, from its content and its predecessor's hash, keyed with `key` (default:
        the app's AUDIT_KEY)."""
        return _chain_hash(audit_key() if key is None else key, *self._fields())

    def unkeyed_digest(self) -> str:
        """The plain sha256 the rows written before migration 0010 carry (see audit.verify_chain)."""
        return hashlib.sha256(canonical_json(self._fields()).encode()).hexdigest()

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined")
    from_unit: Mapped[Unit | None] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id], lazy="joined")


# The database itself refuses to change or remove an event, whatever code asks.
APPEND_ONLY = {  # per dialect; also run by the initial migration
    "sqlite": [
        "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
        "BEGIN SELECT RAISE(ABORT, 'case_events are append-only'); END",
        "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events "
        "BEGIN SELECT RAISE(ABORT, 'case_events are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION case_events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'case_events are append-only'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events "
        "FOR EACH ROW EXECUTE FUNCTION case_events_append_only()",
    ],
}
for _dialect, _statements in APPEND_ONLY.items():
    for _sql in _statements:
        event.listen(CaseEvent.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))


_SEALED_FORMS = _sealed_forms(Case.__table__)


@event.listens_for(Session, "before_flush")
def _chain_new_events(session, _context, _instances):
    """Chain every new event to its case's head, read from the case row held in the session,
    and move the head on; the case's UPDATE then reseals it (`_seal_case`). That UPDATE checks
    the case's version, which every change of its head bumps: a head read before another
    transaction moved it cannot fork the chain, the flush fails as stale instead."""
    new = [obj for obj in session.new if isinstance(obj, CaseEvent)]
    if not new:
        return
    key = audit_key()
    with session.no_autoflush:
        ordered = sorted(new, key=lambda e: inspect(e).insert_order or 0)  # the order they were added
        for ev in ordered:
            if ev.case_id is None and ev.case is not None:
                ev.case_id = ev.case.id
            if ev.case_id is None:
                raise ValueError("flush a new case before adding its events (the chain needs its id)")
            if ev.at is None:
                ev.at = utcnow()
            ev.data = ev.data or {}
        cases = {case_id: session.get(Case, case_id) for case_id in {ev.case_id for ev in ordered}}
        for ev in ordered:
            case = cases[ev.case_id]
            ev.prev_hash = case.chain_head
            ev.hash = case.chain_head = ev.digest(key)


@event.listens_for(Case, "before_insert")
@event.listens_for(Case, "before_update")
def _seal_case(_mapper, _connection, case):
    """A case written by the ORM is sealed as written (one inserted by the ORM gets its id, and
    its real seal, with its first event, in the same transaction)."""
    case.seal = case_seal(audit_key(), case.id, case.chain_head, [getattr(case, c) for c in SEALED_COLUMNS])


# A filing's case and first event are written by two Core INSERTs (`insert_filed`) and then
# attached as loaded objects: the session does not know they are new, so a rollback (of the
# transaction, or of a savepoint they were written in) must take them out of it, as it takes
# out the objects it inserted itself.
_CORE_INSERTED = "casetrack.core_inserted"
_INSERT_CASE = Case.__table__.insert().returning(Case.__table__.c.id)
_INSERT_EVENT = CaseEvent.__table__.insert().returning(CaseEvent.__table__.c.id)
# A filed case's head and seal. An ORM UPDATE of the case later in the transaction wrote its
# own seal (over this head, held in the session) and, with a new event, its own head: kept.
_CASES = Case.__table__.c
_SEAL_FILED = (Case.__table__.update()
               .where(_CASES.id == bindparam("case_id"), _CASES.chain_head == literal_column("''"))
               .values(chain_head=bindparam("chain_head"),
                       seal=sql_case((_CASES.version == literal_column("1"), bindparam("seal")), else_=_CASES.seal)))


def _row_of(obj) -> dict[str, Any]:
    """Every column of a new object but its id, the columns' defaults filled in on the object
    too (attached as loaded, an attribute left unset would be read back by a SELECT)."""
    row, state = {}, obj.__dict__
    for key, default in _insert_columns(type(obj)):
        if key not in state:
            value = default.arg(None) if default is not None and default.is_callable else getattr(default, "arg", None)
            setattr(obj, key, value)
        row[key] = state[key]
    return row


@functools.cache
def _insert_columns(model) -> tuple[tuple[str, Any], ...]:
    """(attribute, column default) of each column but the primary key; attributes and columns
    share their names in these models."""
    props = [prop for prop in inspect(model).column_attrs if not prop.columns[0].primary_key]
    assert all(prop.key == prop.columns[0].key for prop in props), model
    return tuple((prop.key, prop.columns[0].default) for prop in props)


def insert_filed(session: Session, case: Case, ev: CaseEvent) -> None:
    """Insert a new case and its first event without the unit of work (its flush of these rows
    was a third of a filing's CPU), and attach both to the session as persistent, loaded
    objects. The event chains from "" as every first event does (the same `digest`, so
    `audit-verify` checks it like any other). The case's head and seal need its id, known
    after its INSERT: they are written last, on PostgreSQL with the COMMIT (`write_at_commit`)."""
    session.flush()  # what the session holds pending goes first (rows this case may refer to)
    case.chain_head = case.seal = ""
    case.id = session.execute(_INSERT_CASE, _row_of(case)).scalar_one()
    key = audit_key()
    ev.case_id, ev.prev_hash = case.id, ""
    ev.hash = case.chain_head = ev.digest(key)
    ev.id = session.execute(_INSERT_EVENT, _row_of(ev)).scalar_one()
    case.seal = case_seal(key, case.id, case.chain_head, [getattr(case, c) for c in SEALED_COLUMNS])
    write_at_commit(session.connection(), _SEAL_FILED,
                    {"case_id": case.id, "chain_head": case.chain_head, "seal": case.seal})
    _attach_inserted(session, case, ev)


def _attach_inserted(session: Session, *objs) -> None:
    """Objects whose rows a Core INSERT just wrote, attached as persistent and loaded."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    for obj in objs:
        make_transient_to_detached(obj)
        session.add(obj)
        session.info.setdefault(_CORE_INSERTED, []).append((transaction, obj))


# A fired transition's case and event by one Core UPDATE (its version checked, as the ORM's
# version_id_col does) and one INSERT (on PostgreSQL one statement, `_fired_together`): the unit
# of work's flush of these two rows was a third of an escalation's CPU. The SET clause is the
# columns given at execution.
_UPDATE_FIRED = Case.__table__.update().where(_CASES.id == bindparam("case_id"),
                                              _CASES.version == bindparam("old_version"))
_CASE_COLUMNS = frozenset(c.key for c in Case.__table__.c) - {"id"}


@functools.cache   # per set of columns a transition changes: a handful
def _fired_together(columns: frozenset[str]):
    """PostgreSQL: the case's UPDATE (version checked) and its event's INSERT in one statement,
    `WITH moved AS (UPDATE ... RETURNING id) INSERT ... SELECT ... FROM moved RETURNING id`: no
    row, and no id, when the version moved on."""
    cases, events = Case.__table__, CaseEvent.__table__
    moved = (cases.update().where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
             .values({name: bindparam(f"case_{name}", type_=cases.c[name].type) for name in sorted(columns)})
             .returning(cases.c.id).cte("moved"))
    names = [key for key, _default in _insert_columns(CaseEvent)]
    row = select(*(bindparam(f"event_{name}", type_=events.c[name].type) for name in names)).select_from(moved)
    return events.insert().from_select(names, row).returning(events.c.id).add_cte(moved)


class StaleCase(Exception):
    """The case's row changed since it was read (its version moved on): nothing was written."""


def update_fired(session: Session, case: Case, ev: CaseEvent) -> bool:
    """Write a transition's changes to a loaded case and its new event (not yet in the session)
    without the unit of work, as its flush would: the event chained to the case's head, the head
    moved on, the case resealed and its version bumped, checked against the row. Both are then
    persistent and loaded. False, writing nothing: the case holds a change these two statements
    do not write (a relationship set, not its id), leave it to the flush. Raises StaleCase."""
    state = inspect(case)
    changed = set(state.committed_state)
    if ev in session or not state.persistent or not changed <= _CASE_COLUMNS:
        return False
    key = audit_key()
    ev.case_id = case.id
    if ev.at is None:
        ev.at = utcnow()
    ev.data = ev.data or {}
    ev.prev_hash = case.chain_head
    ev.hash = ev.digest(key)
    old_version = case.version
    case.chain_head, case.version = ev.hash, old_version + 1
    case.seal = case_seal(key, case.id, case.chain_head, [getattr(case, c) for c in SEALED_COLUMNS])
    values = state.dict
    params = {name: values[name] for name in changed | {"chain_head", "seal", "version"}}
    conn = session.connection()
    where = {"case_id": case.id, "old_version": old_version}
    if conn.dialect.name == "postgresql":   # one round trip: the event inserted only if the case was updated
        ev.id = conn.execute(_fired_together(frozenset(params)), {
            **{f"case_{k}": v for k, v in params.items()}, **where,
            **{f"event_{k}": v for k, v in _row_of(ev).items()}}).scalar()
        if ev.id is None:
            raise StaleCase(case.id)
    else:
        if conn.execute(_UPDATE_FIRED, {**params, **where}).rowcount != 1:
            raise StaleCase(case.id)
        ev.id = conn.execute(_INSERT_EVENT, _row_of(ev)).scalar_one()
    # The case as written is its committed state now, as after a flush; a rollback expires it.
    state._commit_all(values, session.identity_map)
    session.info.setdefault(_CORE_UPDATED, []).append(
        (session.get_nested_transaction() or session.get_transaction(), case))
    _attach_inserted(session, ev)
    return True


_CORE_UPDATED = "casetrack.core_updated"


@event.listens_for(Session, "after_soft_rollback")
def _expunge_rolled_back(session, previous_transaction):
    """Objects inserted by `insert_filed` or `update_fired` in the transaction (or savepoint) just
    rolled back, or in one nested inside it, leave the session: their rows are gone; the cases
    `update_fired` wrote there are expired, to be read again as the database has them."""
    for name, undo in ((_CORE_INSERTED, session.expunge), (_CORE_UPDATED, session.expire)):
        kept = []
        for transaction, obj in session.info.pop(name, []):
            t = transaction
            while t is not None and t is not previous_transaction:
                t = t.parent
            if t is None:
                kept.append((transaction, obj))
            elif obj in session:
                undo(obj)
        if kept and previous_transaction.parent is not None:
            session.info[name] = kept


@event.listens_for(Session, "after_commit")
def _forget_core_inserted(session):
    session.info.pop(_CORE_INSERTED, None)
    session.info.pop(_CORE_UPDATED, None)


def sealed_rows(session: Session, case_ids) -> dict[int, tuple]:
    """Case id -> (chain_head, *SEALED_COLUMNS) as the driver gives them, each row locked
    (FOR UPDATE on PostgreSQL) for the caller's transaction, in one SELECT."""
    ids = tuple(case_ids)
    if not ids:
        return {}
    conn = session.connection()
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    rows = driver_rows(conn, f"SELECT id, {SEALED_SELECT} FROM cases "
                             f"WHERE id IN ({driver_marks(conn, len(ids))}){lock}", ids)
    return {row[0]: row[1:] for row in rows}


SEALED_SELECT = ", ".join(("chain_head", *SEALED_COLUMNS))  # what `append_events` needs of each case

# The columns of an event as the bulk writers give them (`append_events`): a tuple in this order
# costs less to build and to bind than a dict per row; the hashes are added after them.
EVENT_COLUMNS = ("case_id", "at", "actor_id", "trigger", "from_state", "to_state", "from_unit_id",
                 "to_unit_id", "data")
_HASHED_COLUMNS = EVENT_COLUMNS + ("prev_hash", "hash")


def append_events(rows: list[tuple], cases: dict[int, tuple] | None = None,
                  set_also: str = "", also: tuple = ()) -> None:
    """Many events at once, outside the ORM (the sweep's flags): the chain computed as
    `CaseEvent.digest` does, one executemany INSERT, and each case's head moved on by one
    executemany UPDATE of its chain_head, seal and version (and `set_also`, more of a SET clause
    in the driver's placeholder style, with its parameters `also`, the same for every row).

    Each row is a tuple in `EVENT_COLUMNS` order; a case appears at most once in `rows`. `cases`
    is `sealed_rows` of the cases as the caller read them with their rows locked (default: read here)."""
    if not rows:
        return
    if cases is None:
        cases = sealed_rows(db.session, [row[0] for row in rows])
    key = audit_key()
    heads = {case_id: sealed[0] for case_id, sealed in cases.items()}
    insert_many(CaseEvent.__table__, _BULK_HASHER.chain(rows, heads, key), columns=_HASHED_COLUMNS)
    conn = db.session.connection()
    mark = driver_marks(conn, 1)
    conn.exec_driver_sql(
        f"UPDATE cases SET {set_also + ', ' if set_also else ''}chain_head = {mark}, seal = {mark}, "
        f"version = version + 1 WHERE id = {mark}",
        [(*also, heads[case_id], case_seal(key, case_id, heads[case_id], cases[case_id][1:]), case_id)
         for case_id in (row[0] for row in rows)])


def row_hash(row: dict[str, Any]) -> str:
    """`CaseEvent.digest` of an event given as a dict of its columns, prev_hash included (the
    generator's rows)."""
    return _DICT_HASHER.digest(row, row["prev_hash"], audit_key())


class RowHasher:
    """`_chain_hash` of events given as rows (tuples in a column order, or dicts): the columns are
    read by one itemgetter worked out once per column order, and the moment's text written once
    per distinct moment in a batch (the sweep's rows share one). The sweep hashes a million rows
    in its worst case."""

    def __init__(self, columns: tuple[str, ...] | None = None):
        fields = EVENT_COLUMNS  # the hashed fields after prev_hash, in `_chain_hash`'s order
        keys = fields if columns is None else [columns.index(f) for f in fields]
        self._fields, self._case_id = itemgetter(*keys), itemgetter(keys[0])

    def digest(self, row, prev_hash: str, key: bytes) -> str:
        """The hash of one row chained to `prev_hash`."""
        return self.chain([row], {self._case_id(row): prev_hash}, key)[0][-1]

    def chain(self, rows: list, heads: dict[int, str], key: bytes) -> list[tuple]:
        """Each row (a sequence) followed by its prev_hash and hash, chained from `heads` (case id
        -> hash of its newest event; updated as the rows are chained)."""
        fields = self._fields
        moments: dict = {}
        out = []
        for row in rows:
            case_id, at, actor_id, trigger, from_state, to_state, from_unit, to_unit, data = fields(row)
            at_text = moments.get(at)
            if at_text is None:
                at_text = moments[at] = at.astimezone(timezone.utc).isoformat()
            prev = heads.get(case_id, "")
            heads[case_id] = digest = _chain_hash(key, prev, case_id, at_text, actor_id, trigger, from_state,
                                                  to_state, from_unit, to_unit, data)
            out.append((*row, prev, digest))
        return out


_BULK_HASHER = RowHasher(EVENT_COLUMNS)
_DICT_HASHER = RowHasher()
