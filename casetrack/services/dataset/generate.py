"""A realistic county- or province-sized data set, fast (bulk inserts) and reproducible by seed.

Cases are spread over every state of the workflow; each one's case_events are the shortest
path through the workflow's transitions from its filing state, with the units the workflow's
levels give, so a generated case looks like one that was worked through the app.
"""
from __future__ import annotations

import json
import math
import random
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text

from casetrack.db.bulk import analyze
from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import VISIT_KINDS, Case, CaseEvent, Category, Target, Unit, User, Visit
from casetrack.models.cases import SEALED_COLUMNS, audit_key, case_seal, row_hash
from casetrack.services.organisation import org
from casetrack.services.figures import summaries
from casetrack.services.organisation.accounts import hash_password
from casetrack.services.workdays.calendar import SHANGHAI, add_working_days, now
from casetrack.services.dataset.demo import PROBLEMS
from casetrack.services.casework.cases import default_workflow
from casetrack.workflow import KEEP, URGENCIES, TransitionSpec, Workflow

BATCH = 20_000
TARGETS_PER_GROUP = 1_000     # a county: ~150k targets, 144 groups
GROUPS_PER_TEAM = 13
TEAMS_PER_COUNTY = 11
DEPARTMENTS = ["住建局", "环保局", "人社局", "卫健局", "教育局", "交通局", "农业农村局", "民政局"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
SHARE_OF_SHARED = 0.2
SHARE_OF_URGENT = 0.15


@dataclass
class Counts:
    units: int = 0
    users: int = 0
    targets: int = 0
    visits: int = 0
    cases: int = 0
    events: int = 0


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _copy_value(value):
    """A value as COPY takes it: naive UTC for aware datetimes (as UTCDateTime stores them),
    JSON text for dicts (as SQLAlchemy's JSON type writes them)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _insert(model, rows: list[dict]) -> None:
    """Insert rows of the same keys: COPY on PostgreSQL (its bulk path; executemany sends
    statements), one executemany elsewhere."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(model.__table__), rows)
        return
    db.session.flush()  # ORM rows first (units made by ensure_tree): the COPY refers to them
    columns = list(rows[0])
    defaults = {c.name: c.default.arg(None) if c.default.is_callable else c.default.arg
                for c in model.__table__.columns
                if c.name not in rows[0] and c.default is not None and not c.default.is_sequence}
    sql = f"COPY {model.__tablename__} ({', '.join([*columns, *defaults])}) FROM STDIN"
    tail = [_copy_value(v) for v in defaults.values()]  # Python-side defaults, as insert() adds them
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([*(_copy_value(row[c]) for c in columns), *tail])


def _bulk(model, rows: Iterator[dict], total: int | None = None) -> int:
    """Insert in batches, never holding more than one batch; returns the number of rows."""
    n, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            _insert(model, batch)
            n, batch = n + len(batch), []
            report(model.__tablename__, n, total)
    _insert(model, batch)
    report(model.__tablename__, n + len(batch), total)
    return n + len(batch)


# The secondary indexes and (PostgreSQL) foreign keys of a table as the database has them:
# (name, the statement that makes it again). Constraint-backed indexes are left alone.
_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
              "AND sql IS NOT NULL",
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
                  "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))",
}
_KEYS = ("SELECT conname, 'ALTER TABLE ' || CAST(conrelid AS regclass) || ' ADD CONSTRAINT ' || conname "
         "|| ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
         "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'")


@contextmanager
def _loading(*models) -> Iterator[None]:
    """Fill empty tables without maintaining their secondary indexes (and, on PostgreSQL,
    checking their foreign keys) row by row: drop them first, make them again once at the end,
    in the same transaction, exactly as they were. Tables that hold rows are left as they are."""
    connection = db.session.connection()
    dialect = connection.dialect.name
    tables = [m.__tablename__ for m in models if db.session.scalar(select(m.id).limit(1)) is None]
    keys = [(t, *row) for t in tables for row in connection.execute(text(_KEYS), {"t": t})] \
        if dialect == "postgresql" else []  # SQLite cannot drop a constraint
    indexes = [tuple(row) for t in tables for row in connection.execute(text(_INDEXES[dialect]), {"t": t})] \
        if dialect in _INDEXES else []
    for table, name, _sql in keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    db.session.flush()
    if dialect == "postgresql":  # sort for the index builds in memory, within this transaction
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)
    for _table, _name, sql in keys:
        connection.exec_driver_sql(sql)
    for model in models:   # the first pages served after a load must not be planned as if empty
        analyze(model.__tablename__)


# -- the organisation ----------------------------------------------------------------------

def ensure_tree(groups_wanted: int, password_hash: str, counts: Counts, cities_counties: int | None = None) -> None:
    """Make a county (or a province of counties) with enough groups, unless a county exists;
    `cities_counties`: a city office (市活动办, code CITY) over that many counties instead, the
    groups shared out among them."""
    if db.session.scalar(select(Unit.id).where(Unit.kind == "county").limit(1)) is not None:
        return
    teams = math.ceil(groups_wanted / GROUPS_PER_TEAM)
    counties = math.ceil(teams / TEAMS_PER_COUNTY)
    users: list[dict] = []
    if cities_counties:
        _city(cities_counties, max(groups_wanted, cities_counties), password_hash, counts, users)
        counts.users += _bulk(User, iter(users), len(users))
        return
    top = org.create_unit("P", "省大走访活动办", "province") if counties > 1 else None

    unit = _unit_maker(password_hash, counts, users)

    g = 0
    for c in range(1, counties + 1):
        county = unit(f"C{c:03d}" if top else "C", f"第{c}县活动办", "county",
                      top.code if top else None, "county_officer")
        for d, dname in enumerate(DEPARTMENTS, 1):
            unit(f"{county.code}D{d:02d}", dname, "department", county.code, "department_handler")
        for t in range(1, min(TEAMS_PER_COUNTY, teams - (c - 1) * TEAMS_PER_COUNTY) + 1):
            team = unit(f"{county.code}T{t:02d}", f"第{t}镇工作队", "team", county.code, "team_leader")
            for _ in range(GROUPS_PER_TEAM):
                if g >= groups_wanted:
                    break
                g += 1
                unit(f"{county.code}G{g:05d}", f"第{g}村工作组", "group", team.code, "group_leader")
    counts.users += _bulk(User, iter(users), len(users))


def _unit_maker(password_hash: str, counts: Counts, users: list[dict]):
    """unit(code, name, kind, parent, role): a unit made now, and the row of its one user (its code
    as username) kept in `users` for one bulk insert."""
    def unit(code, name, kind, parent, role):
        u = org.create_unit(code, name, kind, parent)
        users.append({"username": code.lower(), "name": name[:60], "role": role, "unit_id": u.id,
                      "password_hash": password_hash, "active": True, "session_version": 1,
                      "created_at": now()})
        counts.units += 1
        return u
    return unit


def _city(n: int, groups_wanted: int, password_hash: str, counts: Counts, users: list[dict]) -> None:
    """A city office over n counties, each with its departments and at least one team and group."""
    unit = _unit_maker(password_hash, counts, users)

    unit("CITY", "市大走访活动办", "city", None, "county_officer")
    g = 0
    for c in range(1, n + 1):
        county = unit(f"C{c:03d}", f"第{c}县活动办", "county", "CITY", "county_officer")
        for d, dname in enumerate(DEPARTMENTS, 1):
            unit(f"{county.code}D{d:02d}", dname, "department", county.code, "department_handler")
        share = groups_wanted // n + (1 if c <= groups_wanted % n else 0)
        for t in range(1, math.ceil(share / GROUPS_PER_TEAM) + 1):
            team = unit(f"{county.code}T{t:02d}", f"第{t}镇工作队", "team", county.code, "team_leader")
            for _ in range(min(GROUPS_PER_TEAM, share - (t - 1) * GROUPS_PER_TEAM)):
                g += 1
                unit(f"{county.code}G{g:05d}", f"第{g}村工作组", "group", team.code, "group_leader")


# -- rows ------------------------------------------------------------------------------------

def _targets(rng: random.Random, n: int, groups: list[int], cadres: dict[int, int],
             start_id: int, assigned: datetime) -> Iterator[dict]:
    kinds, weights = VISIT_KINDS, [50, 25, 5, 10, 2, 2, 2, 2, 2]
    for i in range(n):
        group = groups[i * len(groups) // n]  # contiguous blocks: a group's targets sit together
        kind = rng.choices(kinds, weights)[0]
        name = f"{_name(rng)}家" if kind.endswith("household") else f"{_name(rng)}{kind}"
        yield {"id": start_id + i, "kind": kind, "name": name, "address": f"{rng.randint(1, 300)}号",
               "village": f"第{group}村", "group_id": group, "cadre_id": cadres.get(group),
               "created_at": assigned, "updated_at": assigned}  # by the calendar's clock, not the wall's


def _visits(rng: random.Random, n: int, targets: list[tuple[int, int]], cadres: dict[int, int],
            start: date, days: int) -> Iterator[dict]:
    for _ in range(n):
        target, group = targets[rng.randrange(len(targets))]
        day = start + timedelta(days=rng.randrange(days))
        yield {"target_id": target, "group_id": group, "visited_on": day, "notes": "",
               "suggestions": rng.choice((0, 0, 0, 1, 2)), "created_by_id": cadres.get(group),
               "created_at": datetime(day.year, day.month, day.day, 2, tzinfo=timezone.utc)}


def _paths(wf: Workflow, kind: str) -> dict[str, list[TransitionSpec]]:
    """For every state, the shortest list of transitions from the kind's filing state to it
    (each taken at its first firing: not one that waits for attempts)."""
    start = wf.filing_states[kind]
    paths: dict[str, list[TransitionSpec]] = {start: []}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for t in wf.transitions_from(state):
            if t.dest and t.dest not in paths and t.attempts is None:
                paths[t.dest] = [*paths[state], t]
                queue.append(t.dest)
    return paths


def when_value(value):
    """A value that meets a `when` (the first of a list)."""
    return value[0] if isinstance(value, list) else value


class CaseMaker:
    """Builds one case and its events as plain rows, following the workflow's levels."""

    def __init__(self, wf: Workflow, tree: dict[int, tuple[int, int]], departments: dict[int, list[int]],
                 unit_codes: dict[int, str], leaders: dict[int, int], categories: list[tuple[int, str]]):
        self.wf, self.tree, self.departments = wf, tree, departments
        self.codes, self.leaders, self.categories = unit_codes, leaders, categories
        self.paths = {kind: _paths(wf, kind) for kind in wf.filing_states}
        self.states = {kind: list(paths) for kind, paths in self.paths.items()}
        self._deadlines: dict[tuple[date, int], date] = {}
        self.key = audit_key()

    def deadline(self, day: date, days: int | None) -> date | None:
        if not days:
            return None
        key = (day, days)
        if key not in self._deadlines:
            self._deadlines[key] = add_working_days(day, days)
        return self._deadlines[key]

    def make(self, rng: random.Random, case_id: int, group: int, target: int | None,
             created: datetime, events: list[dict]) -> dict:
        wf = self.wf
        kind = "shared" if rng.random() < SHARE_OF_SHARED else "individual"
        urgency = URGENCIES[1] if rng.random() < SHARE_OF_URGENT else URGENCIES[0]
        state = rng.choice(self.states[kind])
        team, county = self.tree[group]
        by_level = {"group": group, "team": team, "county": county}
        department = rng.choice(self.departments[county])
        by_level["department"] = department
        first = wf.filing_states[kind]
        unit = by_level[wf.states[first].level]
        category_id, category_code = rng.choice(self.categories)
        title = rng.choice(PROBLEMS.get(category_code) or PROBLEMS["infrastructure"])
        at = created
        first_event = len(events)
        events.append({"case_id": case_id, "at": at, "actor_id": self.leaders.get(group), "trigger": "file",
                       "from_state": None, "to_state": first, "from_unit_id": None, "to_unit_id": unit,
                       "data": {"kind": kind, "category": category_code}})
        resolved_unit = department_id = revisit_on = due = None
        current = first
        path = self.paths[kind][state]
        for t in path:
            at = at + timedelta(hours=rng.randint(2, 72))
            level = wf.states[t.dest].level
            new_unit = unit if level == KEEP else by_level[level]
            data = {}
            for name in t.required:
                f = wf.fields[name]
                ftype = f.type
                if name in t.when:
                    data[name] = when_value(t.when[name])
                elif ftype == "choice":
                    data[name] = next(iter(f.options))
                elif ftype == "unit":   # the group whose resident it is, or its team
                    chosen = group if "group" in f.kinds else team
                    data[name] = self.codes[chosen]
                    if t.to_unit == name:
                        new_unit = chosen
                elif ftype == "departments":
                    data[name] = []
                elif ftype == "department":
                    data[name], department_id = self.codes[department], department
                elif ftype == "date":
                    day = at.date() + timedelta(days=30)
                    data[name] = day.isoformat()
                    if name == wf.states[t.dest].revisit_field:
                        revisit_on = day
                    elif name == "due_date":
                        due = day
                elif ftype == "bool":
                    data[name] = True
                else:
                    data[name] = "已处理"
            if wf.states[t.dest].remember == "resolver":
                resolved_unit = unit
            events.append({"case_id": case_id, "at": at, "actor_id": self.leaders.get(unit),
                           "trigger": t.trigger, "from_state": current, "to_state": t.dest,
                           "from_unit_id": unit, "to_unit_id": new_unit, "data": data})
            current, unit = t.dest, new_unit
        prev = ""
        for ev in events[first_event:]:  # the tamper-evident chain, as the app writes it
            ev["prev_hash"] = prev
            ev["hash"] = prev = row_hash(ev)
        case = {
            "id": case_id, "title": title, "description": "", "category_id": category_id,
            "kind": kind, "resident_name": _name(rng), "resident_phone": f"139{rng.randrange(10**8):08d}",
            "resident_address": f"{rng.randint(1, 300)}号", "target_id": target, "visit_id": None,
            "group_id": group, "unit_id": unit, "department_id": department_id,
            "resolved_unit_id": resolved_unit, "state": state,
            "deadline": (due if path and "due_date" in path[-1].required
                         else self.deadline(at.date(), wf.states[state].days_for(urgency, category_code))),
            "urgency": urgency,
            "revisit_on": revisit_on, "funds": None, "donations": None, "workflow": wf.name,
            "workflow_version": wf.version, "version": 1 + len(path),  # one per transition
            "created_by_id": self.leaders.get(group), "created_at": created, "updated_at": at,
            "found_on": created.astimezone(SHANGHAI).date(), "chain_head": prev,
        }
        case["seal"] = case_seal(self.key, case_id, prev, [case.get(c) for c in SEALED_COLUMNS])  # no parents here
        return case


def _cases(maker: CaseMaker, rng: random.Random, n: int, start_id: int, groups: list[int],
           targets: list[tuple[int, int]], start: datetime, days: int) -> tuple[int, int]:
    """Insert n cases and their events in batches (cases first: events refer to them)."""
    cases: list[dict] = []
    events: list[dict] = []
    n_events = 0

    def flush() -> None:
        nonlocal cases, events, n_events
        _insert(Case, cases)
        _insert(CaseEvent, events)
        n_events += len(events)
        cases, events = [], []

    for i in range(n):
        if targets:
            target, group = targets[rng.randrange(len(targets))]
        else:
            target, group = None, groups[rng.randrange(len(groups))]
        created = start + timedelta(seconds=days * 86400 * i // max(n, 1))  # ids follow time
        cases.append(maker.make(rng, start_id + i, group, target, created, events))
        if len(cases) >= BATCH // 4:
            flush()
            report("cases", i + 1, n)
    flush()
    report("cases", n, n)
    return n, n_events


# -- the use case ---------------------------------------------------------------------------

def generate(targets: int, cases: int, visits: int, seed: int = 1, password: str = "demo",
             days: int = 120, counties: int | None = None) -> Counts:
    """Add targets, visits and cases over the last `days` days; makes a unit tree if none (a
    city office over `counties` counties when given)."""
    rng = random.Random(seed)
    counts = Counts()
    org.ensure_categories()
    groups_wanted = max(1, math.ceil(max(targets, cases // 5, 1) / TARGETS_PER_GROUP))
    ensure_tree(groups_wanted, hash_password(password), counts, counties)
    db.session.flush()

    units = db.session.execute(select(Unit.id, Unit.kind, Unit.parent_id, Unit.code)).all()
    parent = {u.id: u.parent_id for u in units}
    kinds = {u.id: u.kind for u in units}
    codes = {u.id: u.code for u in units}
    groups = sorted(u.id for u in units if u.kind == "group")
    tree = {g: (parent[g], parent[parent[g]]) for g in groups if kinds.get(parent[parent[g]]) == "county"}
    groups = [g for g in groups if g in tree]
    departments: dict[int, list[int]] = {}
    for u in units:
        if u.kind == "department" and kinds.get(u.parent_id) == "county":
            departments.setdefault(u.parent_id, []).append(u.id)
    groups = [g for g in groups if tree[g][1] in departments]
    if not groups:
        raise ValueError("no work group under a county that has departments")
    leaders: dict[int, int] = {}
    for user_id, unit_id in db.session.execute(select(User.id, User.unit_id).order_by(User.id.desc())):
        if unit_id is not None:
            leaders[unit_id] = user_id
    categories = [tuple(r) for r in db.session.execute(select(Category.id, Category.code)
                                                       .where(Category.active.is_(True)).order_by(Category.id))]

    end = now().replace(microsecond=0)
    start = end - timedelta(days=days)

    with _loading(Target, Visit, Case, CaseEvent):
        first_target = _next_id(Target)
        counts.targets = _bulk(Target, _targets(rng, targets, groups, leaders, first_target, start), targets)
        target_rows = [(tid, groups[i * len(groups) // targets]) for i, tid in
                       enumerate(range(first_target, first_target + targets))] if targets else []
        if visits and not target_rows:
            raise ValueError("visits need targets (--targets)")
        counts.visits = _bulk(Visit, _visits(rng, visits, target_rows, leaders, start.date(), days), visits)

        maker = CaseMaker(default_workflow(), tree, departments, codes, leaders, categories)

        counts.cases, counts.events = _cases(maker, rng, cases, _next_id(Case), groups, target_rows,
                                             start, days)
        report("indexes and keys", 0, 1)  # built again when the block ends
    report("indexes and keys", 1, 1)
    _reset_sequences()
    report("daily figures", 0, 1)
    summaries.rebuild()   # the figures of all the rows inserted in bulk, once, at the end
    analyze("daily_figures")
    report("daily figures", 1, 1)
    return counts


def _reset_sequences() -> None:
    """PostgreSQL: explicit ids were inserted; move the id sequences past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (Target, Case, Unit, User, Visit, CaseEvent):
        table = model.__tablename__
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"))
