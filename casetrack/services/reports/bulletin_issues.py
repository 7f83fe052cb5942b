"""The bulletin as an official document: drafts, their text, and issues numbered per type and year.

A draft (no published_at) holds the office's text per section, with the figures as Jinja
placeholders (`{{ visits.total }}`) rendered in a sandbox; publishing computes the figures,
renders the text, freezes both with the typical cases and the circulation, and numbers the issue
(2026年第N期, 总第N期). An issue is never changed: a correction is a new issue naming the one it
corrects.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

import jinja2
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import false, func, select

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import BULLETIN_TYPES, Bulletin, BulletinSetting, Case, CaseEvent, Unit, User
from casetrack.services.reports import bulletin as bl
from casetrack.services.workdays.calendar import now, today
from casetrack.services.casework.cases import default_workflow, scoped_cases
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.services.organisation.campaigns import default_campaign

TYPE_LABELS = {"briefing": _l("Briefing"), "special": _l("Special report"), "express": _l("Express report"),
               "circular": _l("Supervision circular")}
SECTIONS = ("news", "results", "problems", "plans")
SECTION_LABELS = {"news": _l("Work in progress"), "results": _l("Main results"),
                  "problems": _l("Problems remaining"), "plans": _l("Next steps")}
MAX_SECTION = 20_000      # characters of one section's template
MAX_TYPICAL = 10
MAX_LINE = 2_000          # a circulation line


def type_label(kind: str) -> str:
    return str(TYPE_LABELS.get(kind, kind))


def masthead_title(figures: dict[str, Any]) -> str:
    if figures.get("masthead"):   # a campaign's own title (its weekly circular)
        return figures["masthead"]
    kind = figures.get("type") or "briefing"
    return _("Grand-visit campaign %(type)s", type=type_label(kind))


def number_line(figures: dict[str, Any]) -> str:
    if not figures.get("number"):
        return _("(not published)")
    if not figures.get("year"):   # an issue published before bulletins had types and years
        return _("No. %(n)d", n=figures["number"])
    return _("%(year)d, No. %(n)d (No. %(total)d in all)", year=figures["year"], n=figures["number"],
             total=figures["total"])


# -- the narrative -------------------------------------------------------------------------

def pct(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) else f"{value * 100:.1f}%"


def _environment() -> SandboxedEnvironment:
    # StrictUndefined: a misspelt figure or an attribute the sandbox hides fails loudly.
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["pct"] = pct
    return env


SANDBOX = _environment()


def context(figures: dict[str, Any]) -> dict[str, Any]:
    """What a template may name: the figures, and the period under names Jinja can parse."""
    units = {r["code"]: r["name"] for r in figures.get("units") or []}
    return {**figures, "period_from": figures.get("from"), "period_to": figures.get("to"),
            "laggard_names": [units.get(c, c) for c in figures.get("laggards") or []]}


def render_section(source: str, figures: dict[str, Any], name: str = "narrative") -> str:
    """The section's text with the figures filled in; a template that fails is refused with why."""
    try:
        return SANDBOX.from_string(source).render(context(figures)).strip()
    except jinja2.exceptions.SecurityError:
        message = _("The text may only show the figures; it tried to reach something else.")
    except jinja2.exceptions.TemplateSyntaxError as exc:
        message = _("The placeholders are not well formed (line %(line)d): %(error)s", line=exc.lineno,
                    error=exc.message or "")
    except jinja2.exceptions.UndefinedError as exc:
        message = _("No such figure: %(error)s", error=str(exc))
    except Exception as exc:   # a template is the office's own code: any failure is theirs to fix
        message = _("The text could not be filled in: %(error)s", error=type(exc).__name__)
    raise ValidationFailed({name: message}, message)


def render_narrative(narrative: dict[str, str], figures: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": k, "title": str(SECTION_LABELS[k]), "text": render_section(narrative.get(k, ""), figures, k)}
            for k in SECTIONS if (narrative.get(k) or "").strip()]


def first_draft() -> dict[str, str]:
    """The text a draft starts from when the office set no template: 一是…二是…三是…四是…."""
    return {
        "news": _("From {{ period_from }} to {{ period_to }}, {{ unit.name }} pressed on with the campaign. "
                  "First, visits: {{ visits.total }} visits made, {{ visits.cadre_visits }} cadre visits "
                  "(person-times), {{ suggestions }} opinions and suggestions collected. "
                  "Second, problems: {{ problems.found }} found, {{ problems.resolved }} resolved, "
                  "{{ problems.solved }} solved, {{ problems.explained }} explained. "
                  "Third, funds: {{ funds }} (10k yuan) of public funds and {{ donations }} (10k yuan) "
                  "of social donations. Fourth, coverage: the coverage rate reached {{ coverage.rate|pct }}."),
        "results": _("On-time closure rate {{ rates.on_time_closure|pct }}, satisfaction rate "
                     "{{ rates.satisfaction|pct }}, feedback rate {{ rates.feedback|pct }}."),
        "problems": _("{{ problems.open_overdue }} open cases are already overdue."
                      "{% if laggard_names %} Behind: {{ laggard_names|join(', ') }}.{% endif %}"),
        "plans": _("Press the overdue cases to a close and raise the coverage rate."),
    }


def check_narrative(narrative: Any) -> dict[str, str]:
    """Only the known sections, as text that may be stored and that compiles in the sandbox."""
    if not isinstance(narrative, dict):
        raise ValidationFailed({"narrative": _("The text, section by section, please.")})
    out, errors = {}, {}
    for key in SECTIONS:
        value = narrative.get(key) or ""
        if not isinstance(value, str):
            errors[key] = _("Text, please.")
        elif len(value) > MAX_SECTION:
            errors[key] = _("At most %(n)d characters, please.", n=MAX_SECTION)
        elif text_error(value, one_line=False):
            errors[key] = text_error(value, one_line=False)
        else:
            try:
                SANDBOX.parse(value)
            except jinja2.exceptions.TemplateSyntaxError as exc:
                errors[key] = _("The placeholders are not well formed (line %(line)d): %(error)s",
                                line=exc.lineno, error=exc.message or "")
            out[key] = value.replace("\r\n", "\n")
    if errors:
        raise ValidationFailed(errors, _("Please correct the text."))
    return out


# -- settings: circulation and templates per type ------------------------------------------

def setting(unit: Unit, kind: str) -> BulletinSetting | None:
    return db.session.get(BulletinSetting, (unit.id, kind))


def save_setting(actor: User, unit: Unit, kind: str, *, main_to: str = "", copy_to: str = "",
                 printed_by: str = "", template: dict[str, str] | None = None) -> BulletinSetting:
    """The office sets, per type, who receives its bulletin and the text a new draft starts from."""
    _may_publish(actor, unit)
    kind = check_type(kind)
    lines = {"main_to": main_to, "copy_to": copy_to, "printed_by": printed_by}
    errors = {k: text_error(v) or (_("At most %(n)d characters, please.", n=MAX_LINE) if len(v) > MAX_LINE else None)
              for k, v in lines.items()}
    if any(errors.values()):
        raise ValidationFailed({k: v for k, v in errors.items() if v}, _("Please correct the circulation."))
    template = check_narrative(template) if template and any((template or {}).values()) else None
    row = setting(unit, kind) or BulletinSetting(unit_id=unit.id, type=kind)
    row.main_to, row.copy_to, row.printed_by = (v.strip() for v in lines.values())
    row.template = template
    db.session.add(row)
    db.session.flush()
    return row


def circulation_of(unit: Unit, kind: str) -> dict[str, str]:
    row = setting(unit, kind)
    return {"main_to": row.main_to if row else "", "copy_to": row.copy_to if row else "",
            "printed_by": (row.printed_by if row else "") or unit.name}


# -- drafts and issues ---------------------------------------------------------------------

def check_type(kind: Any) -> str:
    if kind not in BULLETIN_TYPES:
        raise ValidationFailed({"type": _("Briefing, special report, express report or supervision "
                                          "circular, please.")})
    return kind


def _may_publish(actor: User, unit: Unit) -> None:
    bl.check_scope(actor, unit)
    if not may_publish(actor, unit):
        raise Forbidden(_("Only the county office and team leaders publish their own unit's bulletin."))


def may_publish(actor: User, unit: Unit) -> bool:
    """The county office and team leaders write and publish their own unit's bulletin."""
    return actor.active and actor.role in ("county_officer", "team_leader") and unit.id == actor.unit_id


def draft_bulletin(actor: User, unit: Unit, type: str, period: tuple[date, date], *,
                   narrative: dict[str, str] | None = None, signed_by: str | None = None,
                   typical: Iterable[int] = (), corrects: Bulletin | int | None = None) -> Bulletin:
    """A new draft of the unit's bulletin of `type` over `period` (from, to); its text is
    `narrative` or else the type's template or else the first draft from the figures."""
    _may_publish(actor, unit)
    date_from, date_to = period
    if date_from > date_to:
        raise ValidationFailed({"from": _("The period starts after it ends.")})
    kind = check_type(type)
    template = (setting(unit, kind).template if setting(unit, kind) else None) or first_draft()
    draft = Bulletin(unit=unit, campaign=default_campaign().code, type=kind, date_from=date_from, date_to=date_to,
                     figures={},
                     narrative=check_narrative(narrative if narrative is not None else template), typical=[],
                     published_by_id=actor.id)
    db.session.add(draft)
    edit(actor, draft, signed_by=signed_by if signed_by is not None else actor.name, typical=typical,
         corrects=corrects)
    return draft


def edit(actor: User, draft: Bulletin, *, narrative: dict[str, str] | None = None, signed_by: str | None = None,
         typical: Iterable[int] | None = None, corrects: Bulletin | int | None = None) -> Bulletin:
    """Change a draft's text, its signer, its typical cases or the issue it corrects (409 once published)."""
    _may_publish(actor, draft.unit)
    _hold_draft(draft)
    if narrative is not None:
        draft.narrative = check_narrative(narrative)
    if signed_by is not None:
        signed_by = signed_by.strip()
        if text_error(signed_by) or len(signed_by) > 60:
            raise ValidationFailed({"signed_by": text_error(signed_by) or _("At most %(n)d characters, please.",
                                                                             n=60)})
        draft.signed_by = signed_by or None
    if typical is not None:
        draft.typical = _typical_ids(actor, draft, typical)
    if corrects is not None:
        draft.corrects_id = _corrected(actor, draft, corrects).id if corrects else None
    db.session.flush()
    return draft


def _typical_ids(actor: User, draft: Bulletin, ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if len(wanted) > MAX_TYPICAL:
        raise ValidationFailed({"typical": _("At most %(n)d typical cases, please.", n=MAX_TYPICAL)})
    if not wanted:
        return []
    found = set(db.session.scalars(closed_cases(actor, draft.unit).with_only_columns(Case.id)
                                   .where(Case.id.in_(wanted))))
    if found != set(wanted):
        raise ValidationFailed({"typical": _("Typical cases are closed cases of the unit, please.")})
    return wanted


def _corrected(actor: User, draft: Bulletin, corrects: Bulletin | int) -> Bulletin:
    issue = corrects if isinstance(corrects, Bulletin) else db.session.get(Bulletin, corrects)
    if (issue is None or issue.unit_id != draft.unit.id or issue.published_at is None
            or issue.campaign != draft.campaign):
        raise ValidationFailed({"corrects": _("A published issue of the same unit, please.")})
    return issue


def closed_cases(actor: User, unit: Unit):
    """Closed cases filed by the unit's groups that the actor may see: the typical cases to pick from."""
    final = [s.name for s in default_workflow().states.values() if s.final]
    return (scoped_cases(actor).join(Unit, Unit.id == Case.group_id)
            .where(Unit.path.startswith(unit.path), Case.state.in_(final)))


def candidates(actor: User, draft: Bulletin, limit: int = 50) -> list[Case]:
    """The most recently changed closed cases to pick typical ones from, those picked first."""
    stmt = closed_cases(actor, draft.unit)
    picked = list(db.session.scalars(stmt.where(Case.id.in_(draft.typical or [-1]))))
    rest = db.session.scalars(stmt.where(Case.id.not_in(draft.typical or [-1]))
                              .order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit))
    return picked + list(rest)


def _frozen_typical(ids: list[int]) -> list[dict[str, Any]]:
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(ids or [-1])))}
    answers: dict[int, str] = {}
    for case_id, data in db.session.execute(select(CaseEvent.case_id, CaseEvent.data)
                                            .where(CaseEvent.case_id.in_(ids or [-1])).order_by(CaseEvent.id)):
        if isinstance(data, dict) and data.get("resolution"):
            answers[case_id] = str(data["resolution"])
    return [{"id": i, "title": cases[i].title, "group": cases[i].group.name,
             "category": localized({"zh": cases[i].category.name_zh, "en": cases[i].category.name_en}),
             "resolution": answers.get(i, "")} for i in ids if i in cases]


def preview(draft: Bulletin) -> dict[str, Any]:
    """The figures of a draft as publishing would freeze them now (an issue: its frozen ones)."""
    if draft.published_at is not None:
        return draft.figures
    figures = bl.bulletin(draft.unit, draft.date_from, draft.date_to)
    return {**figures, **document_of(draft, figures, circulation_of(draft.unit, draft.type))}


def unpublished(unit: Unit, kind: str, period: tuple[date, date]) -> dict[str, Any]:
    """The figures of a period as a document of type `kind` would show them, with nothing stored."""
    setting_ = setting(unit, check_type(kind))
    draft = Bulletin(unit_id=unit.id, type=kind, date_from=period[0], date_to=period[1], typical=[],
                     narrative=(setting_.template if setting_ else None) or first_draft())
    figures = bl.bulletin(unit, *period)
    return {**figures, **document_of(draft, figures, circulation_of(unit, kind))}


def document_of(draft: Bulletin, figures: dict[str, Any], circulation: dict[str, str]) -> dict[str, Any]:
    """The document's own part of the figures: type, numbers, signer, text, typical cases, 版记."""
    corrects = db.session.get(Bulletin, draft.corrects_id) if draft.corrects_id else None
    return {"type": draft.type, "year": draft.year, "number": draft.number, "total": draft.total,
            "signed_by": draft.signed_by, "circulation": circulation,
            "narrative": render_narrative(draft.narrative or {}, figures),
            "typical": _frozen_typical(draft.typical or []),
            "corrects": ({"id": corrects.id, "year": corrects.year, "number": corrects.number}
                         if corrects is not None else None)}


def publish(actor: User, draft: Bulletin) -> Bulletin:
    """Freeze the draft's figures and text and number it: the next issue of its type this year."""
    _may_publish(actor, draft.unit)
    _hold_draft(draft)
    if draft.corrects_id is None:
        same = db.session.scalars(select(Bulletin).where(
            Bulletin.unit_id == draft.unit_id, Bulletin.type == draft.type, Bulletin.published_at.is_not(None),
            Bulletin.campaign == draft.campaign,
            Bulletin.date_from == draft.date_from, Bulletin.date_to == draft.date_to)).first()
        if same is not None:
            raise Conflict(_("This period is already published as issue %(n)d.", n=same.number), "published")
    year, number, total = next_number(draft)
    figures = bl.bulletin(draft.unit, draft.date_from, draft.date_to)
    circulation = circulation_of(draft.unit, draft.type)
    document = {**document_of(draft, figures, circulation), "year": year, "number": number, "total": total,
                "published_on": today().isoformat()}
    with db.session.no_autoflush:   # the row is numbered and dated at once (a CHECK ties them)
        draft.year, draft.number, draft.total = year, number, total
        draft.circulation = circulation
        draft.figures = {**figures, **document}
        draft.published_at = now()
        draft.published_by_id = actor.id
    db.session.flush()
    return draft


def hold_issues(unit_id: int) -> None:
    """Publish and edit the unit's issues one at a time, until this transaction ends (PostgreSQL;
    SQLite's one writer is alone already): a number is the unit's MAX + 1, so two publications at
    once took the same number and the second failed on the unique key; and a draft edited while
    it was being published would have changed after its publication."""
    db.session.execute(select(Unit.id).where(Unit.id == unit_id).with_for_update())


def _hold_draft(draft: Bulletin) -> None:
    """`hold_issues` of the draft's unit, then the draft as the publication before ours left it:
    409 if it is an issue now (published, never changed)."""
    hold_issues(draft.unit_id)
    db.session.refresh(draft, ["published_at"])
    if draft.published_at is not None:
        raise Conflict(_("Issue %(n)d is published and is never changed; publish a correction instead.",
                         n=draft.number), "published")


def next_number(draft: Bulletin) -> tuple[int, int, int]:
    """This year, and the next 第N期 and 总第N期 of the draft's unit, campaign and type."""
    year = today().year
    mine = (Bulletin.unit_id == draft.unit_id, Bulletin.type == draft.type, Bulletin.campaign == draft.campaign)
    number = (db.session.scalar(select(func.max(Bulletin.number)).where(*mine, Bulletin.year == year)) or 0) + 1
    total = (db.session.scalar(select(func.max(Bulletin.total)).where(*mine)) or 0) + 1
    return year, number, total


def publish_period(actor: User, unit: Unit, date_from: date, date_to: date, type: str = "briefing",
                   **fields) -> Bulletin:
    """Draft and publish in one step (the page's one-click publish and the tests)."""
    return publish(actor, draft_bulletin(actor, unit, type, (date_from, date_to), **fields))


def visible(user: User, campaign: str | None = None):
    """Published issues of units in the user's subtree: a unit's bulletins are read by it and above;
    those of `campaign` (default: the grand visit's)."""
    if not user.active or user.unit is None or user.role == "admin" or user.unit.kind == "department":
        return select(Bulletin).where(false())
    return (select(Bulletin).join(Unit, Unit.id == Bulletin.unit_id)
            .where(Unit.path.startswith(user.unit.path), Bulletin.published_at.is_not(None),
                   Bulletin.campaign == (campaign or default_campaign().code)))


def issues_of(user: User, unit: Unit, limit: int = 50) -> list[Bulletin]:
    bl.check_scope(user, unit)
    return list(db.session.scalars(visible(user).where(Bulletin.unit_id == unit.id)
                                   .order_by(Bulletin.published_at.desc(), Bulletin.id.desc()).limit(limit)))


def drafts_of(user: User, unit: Unit) -> list[Bulletin]:
    if not may_publish(user, unit):
        return []
    return list(db.session.scalars(select(Bulletin).where(Bulletin.unit_id == unit.id,
                                                          Bulletin.campaign == default_campaign().code,
                                                          Bulletin.published_at.is_(None))
                                   .order_by(Bulletin.id.desc()).limit(50)))


def page_of(user: User, kind: str | None, cursor: int | None, limit: int) -> tuple[list[Bulletin], int | None]:
    """One page of the published issues the user may read, newest first (keyset on id)."""
    stmt = visible(user)
    if kind:
        stmt = stmt.where(Bulletin.type == check_type(kind))
    if cursor:
        stmt = stmt.where(Bulletin.id < cursor)
    rows = list(db.session.scalars(stmt.order_by(Bulletin.id.desc()).limit(limit + 1)))
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


def get(user: User, bulletin_id: int, campaign: str | None = None) -> Bulletin:
    """A draft (its unit's publishers) or an issue (its unit and above) of `campaign` (default: the
    grand visit's); anything else is not found."""
    item = db.session.get(Bulletin, bulletin_id) if 0 < bulletin_id < 2**31 else None
    if item is None or item.campaign != (campaign or default_campaign().code) or (
            item.published_at is None and not may_publish(user, item.unit)):
        raise NotFound(_("No such issue."))
    try:
        bl.check_scope(user, item.unit)
    except NotFound:
        raise NotFound(_("No such issue.")) from None
    return item
