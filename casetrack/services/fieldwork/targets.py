"""Use cases on visit targets: scope, create, edit, import from Excel or CSV, the template."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from casetrack.db.bulk import analyze
from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import TARGET_KINDS, Target, Unit, User, Visit, visit_targets
from casetrack.services.workdays.calendar import now, parse_day
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.common.location import coordinate
from casetrack.services.figures import summaries
from casetrack.services.integration.sheets import ImportFailed, cell_text, read_table, workbook
from casetrack.services.common.text import text_error

KIND_LABELS = {
    "farm_household": {"zh": "农户", "en": "Farm household"},
    "urban_household": {"zh": "居民户", "en": "Urban household"},
    "newcomer_household": {"zh": "新市民", "en": "Newcomer household"},
    "enterprise": {"zh": "企业", "en": "Enterprise"},
    "community": {"zh": "社区", "en": "Community"},
    "village": {"zh": "村", "en": "Village"},
    "key_project": {"zh": "重点项目", "en": "Key project"},
    "school": {"zh": "学校", "en": "School"},
    "building_site": {"zh": "建筑工地", "en": "Building site"},
    "farm_market": {"zh": "农贸市场", "en": "Farmers' market"},
    "back_alley": {"zh": "背街小巷", "en": "Back street or alley"},
    "old_compound": {"zh": "老旧小区", "en": "Old residential compound"},
    "public_toilet": {"zh": "公厕", "en": "Public toilet"},
    "park_square": {"zh": "公园广场", "en": "Park or square"},
    "school_area": {"zh": "学校周边", "en": "Around a school"},
    "hospital": {"zh": "医院", "en": "Hospital"},
    "place": {"zh": "走访地点", "en": "Place visited"},
}
assert set(KIND_LABELS) == set(TARGET_KINDS)
# What a county's own sheet may say for a kind: the code, the label, common synonyms.
KIND_WORDS = {**{k: k for k in TARGET_KINDS}, **{v["zh"]: k for k, v in KIND_LABELS.items()},
              **{v["en"].lower(): k for k, v in KIND_LABELS.items()},
              "市场主体": "enterprise", "居民": "urban_household", "村委会": "village",
              "工地": "building_site", "学校/幼儿园": "school"}
LIMITS = {"name": 120, "address": 200, "village": 80, "code": 60}
MANAGERS = ("group_leader", "team_leader", "county_officer")

# The import columns: field -> (Chinese header of the template, English header also accepted).
COLUMNS = {
    "kind": ("类型", "kind"),
    "name": ("名称", "name"),
    "address": ("地址", "address"),
    "village": ("村/社区", "village"),
    "group": ("责任工作组(code)", "group"),
    "cadre": ("责任干部(username)", "cadre"),
    "code": ("编号", "code"),
    "lat": ("纬度", "lat"),     # WGS-84 degrees, optional
    "long": ("经度", "long"),
}
REQUIRED_COLUMNS = ("kind", "name", "group")
INFO_COLUMNS = ("工作组名称", "干部姓名")  # in the unvisited-list export; ignored on import
MAX_IMPORT_ROWS = 200_000
MAX_IMPORT_UNPACKED = 160 * 1024 * 1024  # 200,000 rows saved by Excel unpack to about 100 MB
ANALYZE_AFTER = 1_000   # rows added by one import: enough to change the lookups' plans


# -- scope ---------------------------------------------------------------------------------

def group_ids_under(unit: Unit):
    """The ids of the work groups in a unit's subtree, as a subquery."""
    if unit.kind == "group":
        return select(Unit.id).where(Unit.id == unit.id)
    return select(Unit.id).where(Unit.path.startswith(unit.path), Unit.kind == "group")


def may_see_unit(user: User, unit: Unit) -> bool:
    return (user.active and user.unit is not None and user.role != "admin"
            and user.unit.kind != "department" and user.unit.contains(unit))


def scoped_targets(user: User):
    """Every target query starts here: a group sees its own, a team its groups', the county all."""
    stmt = select(Target)
    if not user.active or user.unit is None or user.role == "admin" or user.unit.kind == "department":
        return stmt.where(false())
    return stmt.where(Target.group_id.in_(group_ids_under(user.unit)))


def scoped_sites(user: User, campaign: str):
    """The targets of another campaign than the grand visit (its sites), by their responsible
    unit: an office or an inspection unit sees those of its county, a department its own."""
    from casetrack.services.organisation.campaigns import OFFICE_KINDS, campaign_named, takes_part
    stmt = select(Target).where(Target.campaign == campaign)
    unit = user.unit
    if not user.active or unit is None or user.role == "admin" or not takes_part(unit, campaign_named(campaign)):
        return stmt.where(false())
    if unit.kind == "department":
        return stmt.where(Target.group_id == unit.id)
    area = unit if unit.kind in OFFICE_KINDS else unit.ancestor("county")
    if area is None or unit.kind not in OFFICE_KINDS + ("inspection",):
        return stmt.where(false())
    return stmt.where(Target.group_id.in_(select(Unit.id).where(Unit.path.startswith(area.path))))


def get_target(user: User, target_id: Any) -> Target:
    """The target if it is in the user's scope; an unknown and a foreign one look the same."""
    try:
        ident = int(target_id)
    except (TypeError, ValueError):
        raise NotFound(_("No such visit target.")) from None
    target = db.session.scalars(scoped_targets(user).where(Target.id == ident)).first() \
        if 0 < ident < MAX_ID else None
    if target is None:
        raise NotFound(_("No such visit target."))
    return target


def find_unit(user: User, code: Any) -> Unit:
    """A unit by code within the user's scope (404 otherwise)."""
    unit = db.session.scalars(select(Unit).where(Unit.code == str(code or "").strip())).first()
    if unit is None or not may_see_unit(user, unit):
        raise NotFound(_("No such unit."))
    return unit


@dataclass
class TargetFilters:
    unit: Unit | None = None
    kind: str | None = None
    visited: bool | None = None
    as_of: date | None = None
    visited_from: date | None = None  # with visited=true: visited on or after this day (a bulletin's period)
    active: bool | None = True
    q: str | None = None
    cursor: int | None = None
    campaign: str | None = None  # another campaign than the grand visit: its sites

    @classmethod
    def from_args(cls, user: User, args) -> TargetFilters:
        """Read filters from query-string arguments; a bad value is refused, not ignored."""
        from casetrack.services.organisation.campaigns import campaigns
        errors: dict[str, str] = {}
        f = cls(q=(args.get("q") or "").strip() or None)
        campaign = args.get("campaign") or None
        if campaign and campaign not in campaigns().by_code:
            errors["campaign"] = _("No such campaign.")
        elif campaign != campaigns().default:
            f.campaign = campaign
        if args.get("unit"):
            f.unit = find_unit(user, args["unit"])
        kind = args.get("kind") or None
        if kind and kind not in TARGET_KINDS:
            errors["kind"] = _("Not a kind of visit target.")
        f.kind = kind
        for name in ("visited", "active"):
            value = (args.get(name) or "").lower()
            if value in ("all", "any"):
                setattr(f, name, None)
            elif value:
                if value not in ("true", "false", "1", "0", "yes", "no"):
                    errors[name] = _("true or false, please.")
                setattr(f, name, value in ("true", "1", "yes"))
        for name in ("as_of", "visited_from"):
            if args.get(name):
                try:
                    setattr(f, name, parse_day(args[name]))
                except ValueError:
                    errors[name] = _("A date like 2026-07-31, please.")
        cursor = args.get("cursor")
        if cursor:
            if not whole_number(cursor) or int(cursor) > MAX_ID:
                errors["cursor"] = _("A whole number, please.")
            else:
                f.cursor = int(cursor)
        if errors:
            raise ValidationFailed(errors, _("Please correct the filters."))
        return f


def visited_by(as_of: date | None = None, since: date | None = None):
    """The condition 'this target was reached by a visit at least once (by as_of, since a day)':
    as a visit's own target or as one of its further targets."""
    days = ([Visit.visited_on <= as_of] if as_of is not None else []) + \
           ([Visit.visited_on >= since] if since is not None else [])
    return or_(exists().where(Visit.target_id == Target.id, *days),
               exists().where(visit_targets.c.target_id == Target.id, Visit.id == visit_targets.c.visit_id,
                              *days))


def filtered_targets(user: User, f: TargetFilters):
    stmt = scoped_targets(user) if f.campaign is None else scoped_sites(user, f.campaign)
    if f.unit is not None:
        stmt = stmt.where(Target.group_id.in_(
            group_ids_under(f.unit) if f.campaign is None else
            select(Unit.id).where(Unit.path.startswith(f.unit.path))))
    if f.kind:
        stmt = stmt.where(Target.kind == f.kind)
    if f.active is not None:
        stmt = stmt.where(Target.active.is_(f.active))
    if f.visited is not None:
        seen = visited_by(f.as_of, f.visited_from)
        stmt = stmt.where(seen if f.visited else ~seen)
    if f.q:
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Target.name.like(like, escape="\\"),
                              Target.address.like(like, escape="\\"),
                              Target.code.like(like, escape="\\")))
    return stmt


def list_targets(user: User, f: TargetFilters, size: int = 100) -> tuple[list[Target], int | None]:
    """One page of targets in id order, and the cursor of the next page (None at the end)."""
    stmt = filtered_targets(user, f)
    if f.cursor:
        stmt = stmt.where(Target.id > f.cursor)
    rows = list(db.session.scalars(stmt.order_by(Target.id).limit(size + 1)))
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None


def count_targets(user: User, f: TargetFilters) -> int:
    """How many targets the filters match in the user's scope (the cursor aside)."""
    return db.session.scalar(select(func.count()).select_from(filtered_targets(user, f).subquery())) or 0


def visited_ids(targets: list[Target]) -> set[int]:
    """Which of these targets have been visited at least once."""
    ids = [t.id for t in targets]
    if not ids:
        return set()
    return set(db.session.scalars(select(Visit.target_id).where(Visit.target_id.in_(ids)).distinct())) | \
        set(db.session.scalars(select(visit_targets.c.target_id).where(visit_targets.c.target_id.in_(ids))))


# -- create and edit -----------------------------------------------------------------------

def may_manage(user: User, group: Unit | None = None) -> bool:
    """Group leaders, team leaders and the county office keep the target list of their scope."""
    if user.role not in MANAGERS or not user.active or user.unit is None:
        return False
    return group is None or user.unit.contains(group)


def _clean(data: dict[str, Any], actor: User, groups: dict[str, Unit | None],
           cadres: dict[tuple[int, str], User | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check one target's fields; returns (column values, field -> message)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    kind = KIND_WORDS.get(cell_text(data.get("kind")).lower())
    if kind is None:
        errors["kind"] = _("Not a kind of visit target: one of %(kinds)s.",
                           kinds="、".join(v["zh"] for v in KIND_LABELS.values()))
    values["kind"] = kind
    clean_texts(data, values, errors)
    group_code = cell_text(data.get("group"))
    group = groups.get(group_code) if group_code in groups else _load_group(group_code, groups)
    if not group_code:
        errors["group"] = _("Please fill this in.")
    elif group is None or not may_manage(actor, group):
        errors["group"] = _("No such work group in your scope.")
    values["group_id"] = group.id if group is not None else None
    username = cell_text(data.get("cadre"))
    values["cadre_id"] = None
    if username and group is not None:
        key = (group.id, username)
        if key not in cadres:
            cadres[key] = db.session.scalars(select(User).where(
                User.username == username, User.active.is_(True), User.unit_id == group.id)).first()
        if cadres[key] is None:
            errors["cadre"] = _("No such cadre in this work group.")
        else:
            values["cadre_id"] = cadres[key].id
    return values, errors


def clean_texts(data: dict[str, Any], values: dict[str, Any], errors: dict[str, str]) -> None:
    """A target's (or site's) name, address, village, code and location into `values`."""
    for name, limit in LIMITS.items():
        text = cell_text(data.get(name))
        if len(text) > limit:
            errors[name] = _("At most %(n)d characters.", n=limit)
        elif problem := text_error(text):
            errors[name] = problem
        values[name] = text
    if not values["name"] and "name" not in errors:
        errors["name"] = _("Please fill this in.")
    values["code"] = values["code"] or None
    for name in ("lat", "long"):
        values[name] = coordinate(name, data.get(name), errors, name)
    if (values["lat"] is None) != (values["long"] is None) and not {"lat", "long"} & set(errors):
        missing = "lat" if values["lat"] is None else "long"
        errors[missing] = _("%(field)s is needed with the other coordinate.", field=missing)


def _load_group(code: str, groups: dict[str, Unit | None]) -> Unit | None:
    unit = db.session.scalars(select(Unit).where(Unit.code == code, Unit.kind == "group",
                                                 Unit.active.is_(True))).first() if code else None
    groups[code] = unit
    return unit


def _code_taken(code: str | None, target_id: int | None) -> bool:
    if not code:
        return False
    stmt = select(Target.id).where(Target.code == code)
    if target_id is not None:
        stmt = stmt.where(Target.id != target_id)
    return db.session.scalars(stmt).first() is not None


def _flag(value: Any) -> bool:
    return value in (True, 1, "true", "1", "y", "on", "yes")


def create_target(actor: User, **data: Any) -> Target:
    """Add a target to a work group's list."""
    if not may_manage(actor):
        raise Forbidden(_("Only group leaders, team leaders and the county office keep target lists."))
    values, errors = _clean(data, actor, {}, {})
    if "code" not in errors and _code_taken(values["code"], None):
        errors["code"] = _("Another target has this code.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    target = Target(**values, active=_flag(data.get("active", True)), created_at=now(),
                    updated_at=now())
    db.session.add(target)   # no figure yet: a target counts from its first visit
    db.session.flush()
    return target


def update_target(actor: User, target: Target, **data: Any) -> Target:
    """Change a target's fields (all of them are given, as in its form); `active` too."""
    if not may_manage(actor, target.group):
        raise Forbidden(_("You may not change this target."))
    values, errors = _clean(data, actor, {}, {})
    if "code" not in errors and _code_taken(values["code"], target.id):
        errors["code"] = _("Another target has this code.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    with summaries.recount(targets=[target.id]):   # its group, kind and being active move its first visit
        for name, value in values.items():
            setattr(target, name, value)
        if "active" in data:
            target.active = _flag(data["active"])
        target.updated_at = now()
    return target


# -- import --------------------------------------------------------------------------------

def import_targets(actor: User, filename: str, data: bytes) -> dict[str, int]:
    """Import a target list: every row is checked first; any bad row and nothing is imported.

    A row whose 编号 (code) matches a target, or without a code whose group, kind, name and
    address match one, updates it: importing the same file twice adds nothing.
    """
    if not may_manage(actor):
        raise Forbidden(_("Only group leaders, team leaders and the county office keep target lists."))
    table = read_table(filename, data, COLUMNS, REQUIRED_COLUMNS, MAX_IMPORT_ROWS, INFO_COLUMNS,
                       MAX_IMPORT_UNPACKED)
    errors: list[dict[str, Any]] = []
    header = {field: COLUMNS[field][0] for field in COLUMNS}
    groups: dict[str, Unit | None] = {}
    cadres: dict[tuple[int, str], User | None] = {}
    cleaned: list[tuple[int, dict[str, Any]]] = []
    seen_codes: dict[str, int] = {}
    for checked, (number, data_row) in enumerate(table, 1):
        report("checking", checked, len(table))
        values, row_errors = _clean(data_row, actor, groups, cadres)
        code = values["code"]
        if code and "code" not in row_errors:
            if code in seen_codes:
                row_errors["code"] = _("Same code as row %(row)d.", row=seen_codes[code])
            else:
                seen_codes[code] = number
        for field, message in row_errors.items():
            errors.append({"row": number, "column": header[field], "message": message})
        cleaned.append((number, values))
    if errors:
        raise ImportFailed(errors)

    existing_by_code, existing_by_key, foreign = _existing(
        actor, seen_codes, {v["group_id"] for _n, v in cleaned})
    for number, values in cleaned:
        if values["code"] in foreign:
            errors.append({"row": number, "column": header["code"], "message": _(
                "Another target outside your scope has this code.")})
    if errors:
        raise ImportFailed(errors)

    moment = now()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    matched: set[int] = set()
    for number, values in cleaned:
        key = (values["group_id"], values["kind"], values["name"], values["address"])
        old = existing_by_code.get(values["code"]) if values["code"] else existing_by_key.get(key)
        if old is None:
            inserts.append({**values, "active": True, "created_at": moment, "updated_at": moment})
            if not values["code"]:
                existing_by_key[key] = (-number, values)  # a repeated row in the file: once
            continue
        old_id, old_values = old
        if old_id < 0 or old_id in matched:
            errors.append({"row": number, "column": header["name"], "message": _(
                "The same target appears twice in the file.")})
            continue
        matched.add(old_id)
        if any(old_values[k] != v for k, v in values.items()):
            updates.append({"id": old_id, **values, "updated_at": moment})
    if errors:
        raise ImportFailed(errors)
    write_targets(inserts, updates)
    return {"imported": len(inserts), "updated": len(matched)}


def write_targets(inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    """Write an import's checked rows in bulk."""
    report("writing", 0, len(inserts) + len(updates))
    try:
        if inserts:
            db.session.execute(insert(Target), inserts)
        if updates:   # a target moved to another group or kind moves its first visit (a new one has none)
            with summaries.recount(targets=[u["id"] for u in updates]):
                db.session.execute(update(Target), updates)
        db.session.flush()
        if len(inserts) >= ANALYZE_AFTER:
            analyze("targets")
        report("writing", len(inserts) + len(updates), len(inserts) + len(updates))
    except IntegrityError:  # another import added one of these codes meanwhile
        db.session.rollback()
        raise Conflict(_("The target list changed while importing; import the file again.")) from None


MATCHED = (Target.id, Target.code, Target.kind, Target.name, Target.address, Target.village,
           Target.group_id, Target.cadre_id, Target.lat, Target.long)


def holders_of(codes: list[str]):
    """The targets holding these codes, with their group's path."""
    return select(*MATCHED, Unit.path).join(Unit, Unit.id == Target.group_id).where(
        Target.code.in_(codes))


def _existing(actor: User, codes: dict[str, int], group_ids: set[int]):
    """Existing targets the rows may match: by code anywhere, by natural key in these groups.

    A code held by a target of another group in the actor's scope moves that target; a code
    held outside the scope is refused (`foreign`).
    """
    fields = ("code", "kind", "name", "address", "village", "group_id", "cadre_id", "lat", "long")
    by_code: dict[str, tuple[int, dict[str, Any]]] = {}
    by_key: dict[tuple, tuple[int, dict[str, Any]]] = {}
    foreign: set[str] = set()
    code_list = list(codes)
    for i in range(0, len(code_list), 500):
        for row in db.session.execute(holders_of(code_list[i:i + 500])):
            if row.path.startswith(actor.unit.path):
                by_code[row.code] = (row.id, dict(zip(fields, row[1:10])))
            else:
                foreign.add(row.code)
    for row in db.session.execute(select(*MATCHED).where(Target.group_id.in_(group_ids),
                                                      Target.code.is_(None))):
        by_key[(row.group_id, row.kind, row.name, row.address)] = (row.id, dict(zip(fields, row[1:])))
    return by_code, by_key, foreign


# -- the template --------------------------------------------------------------------------

def import_template(user: User) -> bytes:
    """An empty .xlsx with the Chinese headers, and a second sheet explaining the values."""
    notes = [
        [str(_l("Fill in the first sheet, one target per row; keep the header row."))],
        [str(_l("Required: 类型, 名称, 责任工作组(code). 编号 is your own code: "
                "re-importing a row with the same 编号 updates that target."))],
        [],
        ["类型", str(_l("Kind of target"))],
        *[[v["zh"], v["en"]] for v in KIND_LABELS.values()],
        [],
        ["责任工作组(code)", str(_l("Work group"))],
    ]
    if user.unit is not None:
        notes += [[u.code, u.name] for u in db.session.scalars(
            select(Unit).where(Unit.id.in_(group_ids_under(user.unit))).order_by(Unit.code))]
    return workbook("走访对象", [h for h, _en in COLUMNS.values()], [], notes)
