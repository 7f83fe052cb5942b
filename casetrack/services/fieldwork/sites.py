"""A campaign's sites (点位) imported from a sheet, like the grand visit's targets: name, kind,
address, community and the responsible unit (责任单位), all or nothing, and the template."""
from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import Target, Unit, User
from casetrack.services.common.errors import Forbidden
from casetrack.services.fieldwork.targets import COLUMNS as TARGET_COLUMNS
from casetrack.services.fieldwork.targets import KIND_LABELS, KIND_WORDS, clean_texts, import_targets, write_targets
from casetrack.services.integration.sheets import ImportFailed, cell_text, read_table, workbook
from casetrack.services.organisation.campaigns import (OFFICE_KINDS, Campaign, campaign_named, campaigns,
                                                       takes_part)
from casetrack.services.workdays.calendar import now

# The import columns: field -> (Chinese header of the template, English header also accepted).
COLUMNS = {"name": TARGET_COLUMNS["name"], "kind": ("点位类型", "kind"), "address": TARGET_COLUMNS["address"],
           "village": ("所属社区/村", "community"), "unit": ("责任单位", "unit"),
           **{f: TARGET_COLUMNS[f] for f in ("code", "lat", "long")}}
REQUIRED_COLUMNS = ("name", "kind", "village", "unit")
MAX_IMPORT_ROWS = 20_000        # a county's assessment sites number in the hundreds
MAX_IMPORT_UNPACKED = 32 * 1024 * 1024
FIELDS = ("code", "kind", "name", "address", "village", "group_id", "lat", "long")


def importer(campaign: Any) -> Callable[[User, str, bytes], dict[str, int]]:
    """The import of a campaign's targets: the grand visit's target list, another's sites."""
    if campaign in (None, "") or campaign == campaigns().default:
        return import_targets
    chosen = campaign_named(campaign)
    return lambda actor, filename, data: import_sites(actor, chosen, filename, data)


def may_import(user: User, campaign: Campaign) -> bool:
    """The office of a county (or above) keeps the campaign's sites."""
    return user.active and user.role == "county_officer" and user.unit is not None \
        and user.unit.kind in OFFICE_KINDS and takes_part(user.unit, campaign)


def _kinds(campaign: Campaign) -> list[str]:
    return list(campaign.target_kinds or [])


class _Units:
    """The responsible units a sheet names, by code or by name, looked up once each."""

    def __init__(self, actor: User, campaign: Campaign):
        self.area, self.campaign, self.seen = actor.unit, campaign, {}

    def find(self, text: str) -> tuple[Unit | None, str | None]:
        if text not in self.seen:
            self.seen[text] = self._find(text)
        return self.seen[text]

    def _find(self, text: str) -> tuple[Unit | None, str | None]:
        within = (Unit.path.startswith(self.area.path), Unit.active.is_(True))
        found = list(db.session.scalars(select(Unit).where(Unit.code == text, *within))) or \
            list(db.session.scalars(select(Unit).where(Unit.name == text, *within).limit(2)))
        if not found:
            return None, _("No such unit in your county.")
        if len(found) > 1:
            return None, _("Several units have this name: give its code.")
        unit = found[0]
        if unit.kind != "department":
            return None, _("A site's responsible unit is a county unit (a department).")
        if not takes_part(unit, self.campaign):
            return None, _("This unit does not take part in the campaign.")
        return unit, None


def _clean(data: dict[str, Any], campaign: Campaign, units: _Units) -> tuple[dict[str, Any], dict[str, str]]:
    """Check one site's fields; returns (column values, field -> message)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    kind = KIND_WORDS.get(cell_text(data.get("kind")).lower())
    if kind not in _kinds(campaign):
        errors["kind"] = _("Not a kind of site of this campaign: one of %(kinds)s.",
                           kinds="、".join(KIND_LABELS[k]["zh"] for k in _kinds(campaign)))
    values["kind"] = kind
    clean_texts(data, values, errors)
    if not values["village"] and "village" not in errors:
        errors["village"] = _("Please fill this in.")
    unit_text = cell_text(data.get("unit"))
    unit, problem = units.find(unit_text) if unit_text else (None, _("Please fill this in."))
    if problem:
        errors["unit"] = problem
    values["group_id"] = unit.id if unit is not None else None
    return values, errors


def import_sites(actor: User, campaign: Campaign, filename: str, data: bytes) -> dict[str, int]:
    """Import a campaign's sites: every row is checked first; any bad row and nothing is imported.

    A row whose 编号 matches a site of the campaign in the county, or without a code whose name
    and community match one, updates it: importing the same file twice adds nothing."""
    if not may_import(actor, campaign):
        raise Forbidden(_("Only the county office imports a campaign's sites."))
    table = read_table(filename, data, COLUMNS, REQUIRED_COLUMNS, MAX_IMPORT_ROWS,
                       max_unpacked=MAX_IMPORT_UNPACKED)
    header = {field: COLUMNS[field][0] for field in COLUMNS}
    header["group_id"] = header["unit"]
    units = _Units(actor, campaign)
    errors: list[dict[str, Any]] = []
    cleaned: list[tuple[int, dict[str, Any]]] = []
    seen: dict[Any, int] = {}
    for checked, (number, row) in enumerate(table, 1):
        report("checking", checked, len(table))
        values, row_errors = _clean(row, campaign, units)
        for key, field in (((values["name"], values["village"]), "name"), (values["code"], "code")):
            if key and field not in row_errors and (field == "code" or "village" not in row_errors):
                if key in seen:
                    row_errors[field] = _("The same site as row %(row)d.", row=seen[key])
                else:
                    seen[key] = number
        errors += [{"row": number, "column": header[field], "message": message}
                   for field, message in row_errors.items()]
        cleaned.append((number, values))
    if errors:
        raise ImportFailed(errors)

    by_code, by_key = _existing(actor, campaign)
    codes = [v["code"] for _n, v in cleaned if v["code"] and v["code"] not in by_code]
    taken = set(db.session.scalars(select(Target.code).where(Target.code.in_(codes)))) if codes else set()
    moment = now()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, values in cleaned:
        if values["code"] in taken:
            errors.append({"row": number, "column": header["code"],
                           "message": _("Another target has this code.")})
            continue
        old = by_code.get(values["code"]) or by_key.get((values["name"], values["village"]))
        if old is None:
            inserts.append({**values, "campaign": campaign.code, "active": True,
                            "created_at": moment, "updated_at": moment})
        elif any(old[1][k] != values[k] for k in FIELDS):
            updates.append({"id": old[0], **values, "updated_at": moment})
    if errors:
        raise ImportFailed(errors)
    write_targets(inserts, updates)
    return {"imported": len(inserts), "updated": len(cleaned) - len(inserts)}


def _existing(actor: User, campaign: Campaign):
    """The campaign's sites in the actor's area: by code, and by (name, community)."""
    by_code: dict[str, tuple[int, dict[str, Any]]] = {}
    by_key: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    columns = [getattr(Target, f) for f in FIELDS]
    for row in db.session.execute(select(Target.id, *columns).join(Unit, Unit.id == Target.group_id).where(
            Target.campaign == campaign.code, Unit.path.startswith(actor.unit.path))):
        values = dict(zip(FIELDS, row[1:]))
        if values["code"]:
            by_code[values["code"]] = (row.id, values)
        by_key.setdefault((values["name"], values["village"]), (row.id, values))
    return by_code, by_key


def site_template(user: User, campaign: Campaign) -> bytes:
    """An empty .xlsx with the Chinese headers, and a second sheet naming the kinds and units."""
    notes = [
        [str(_l("Fill in the first sheet, one site per row; keep the header row."))],
        [str(_l("Required: 名称, 点位类型, 所属社区/村, 责任单位 (its name or code). 编号 is your own "
                "code: re-importing a row with the same 编号, or the same 名称 and 所属社区/村, "
                "updates that site."))],
        [],
        ["点位类型", str(_l("Kind of site"))],
        *[[KIND_LABELS[k]["zh"], KIND_LABELS[k]["en"]] for k in _kinds(campaign)],
        [],
        ["责任单位", str(_l("Responsible unit"))],
    ]
    if may_import(user, campaign):
        notes += [[u.code, u.name] for u in db.session.scalars(
            select(Unit).where(Unit.path.startswith(user.unit.path), Unit.kind == "department",
                               Unit.active.is_(True)).order_by(Unit.code)) if takes_part(u, campaign)]
    return workbook("点位", [h for h, _en in COLUMNS.values()], [], notes)
