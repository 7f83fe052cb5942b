"""A campaign's weekly circular (督查通报): the office publishes a week's figures by responsible unit
and by kind, the sites with most problems and before/after photos of the cases it picks, as a
numbered issue of the campaign's own series (创城督查通报 2026年第N期), frozen when published.

Issues are bulletins of type `circular` carrying their campaign: numbered, read and downloaded
like the grand visit's (bulletin_issues), each campaign counting its own numbers."""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import Attachment, Bulletin, Case, Category, Target, Unit, User
from casetrack.services.casework.attachments import read_bytes
from casetrack.services.casework.cases import scoped_cases
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.services.organisation.campaigns import OFFICE_KINDS, takes_part
from casetrack.services.reports import bulletin_issues as bi
from casetrack.services.reports.bulletin_docx import to_docx as docx_of
from casetrack.services.reports.bulletin_export import Table
from casetrack.services.reports.campaign_week import week_figures, week_of
from casetrack.services.workdays.calendar import now, today
from casetrack.workflow.campaigns import Campaign

KIND = "circular"
MAX_PAIRS = 6            # photo pairs in one circular: a page of the printed issue
MAX_LINE = 2_000         # a circulation line
LAGGARDS = 3             # units named at the bottom of the ranking


def title_of(campaign: Campaign) -> str:
    """The circular's title and series: the campaign's own word for it, else its name's."""
    if campaign.circular:
        return localized(campaign.circular)
    return _("%(campaign)s circular", campaign=localized(campaign.name))


def reported_day(campaign: Campaign, day: date | None = None) -> date:
    """The week to report on: the day asked, else the full week before the latest report day."""
    if day is not None:
        return day
    return campaign.timetable.reported_week(today()) if campaign.timetable else today()


def week_number(campaign: Campaign, monday: date) -> int | None:
    return campaign.timetable.week_number(monday) if campaign.timetable else None


def may_publish(actor: User, campaign: Campaign) -> bool:
    """An office's officer publishes its own unit's circular of a campaign it runs."""
    return (actor.unit is not None and actor.unit.kind in OFFICE_KINDS and bi.may_publish(actor, actor.unit)
            and takes_part(actor.unit, campaign))


# -- the photos ------------------------------------------------------------------------------

def _photo(stage: str, first: bool):
    """The id of a case's first (or last) photo of `stage`, as a scalar subquery on Case."""
    order = Attachment.id.asc() if first else Attachment.id.desc()
    return (select(Attachment.id).where(Attachment.case_id == Case.id, Attachment.stage == stage,
                                        Attachment.is_image)
            .order_by(order).limit(1).scalar_subquery())


def _with_pairs(actor: User, campaign: Campaign):
    """The campaign's cases in the actor's scope with a photo before and after, each with the first
    before (as filed) and the last after (the strike-off's, or the rectification's)."""
    before, after = _photo("before", True), _photo("after", False)
    photo = (Attachment.case_id == Case.id) & Attachment.is_image
    return (scoped_cases(actor).where(Case.campaign == campaign.code,
                                      exists().where(photo, Attachment.stage == "before"),
                                      exists().where(photo, Attachment.stage == "after"))
            .with_only_columns(Case.id, Case.title, Case.state, before.label("before"), after.label("after")))


def candidates(actor: User, campaign: Campaign, limit: int = 30) -> list[dict[str, Any]]:
    """The cases to pick photo pairs from, most recently changed first."""
    rows = db.session.execute(_with_pairs(actor, campaign).order_by(Case.updated_at.desc(), Case.id.desc())
                              .limit(limit))
    return [{"id": i, "title": t, "state": s} for i, t, s, _b, _a in rows]


def _pairs(actor: User, campaign: Campaign, ids: Iterable[Any]) -> list[dict[str, Any]]:
    """The photo pairs of the cases picked, in the order picked, frozen as ids and words."""
    try:
        wanted = list(dict.fromkeys(int(i) for i in ids))
    except (TypeError, ValueError):
        raise ValidationFailed({"cases": _("Case numbers, please.")}) from None
    if len(wanted) > MAX_PAIRS:
        raise ValidationFailed({"cases": _("At most %(n)d cases with photos, please.", n=MAX_PAIRS)})
    if not wanted:
        return []
    held = aliased(Unit)   # the responsible unit (the scope may join units already)
    rows = {r.id: r for r in db.session.execute(
        _with_pairs(actor, campaign).add_columns(Target.name.label("site"), held.name.label("unit"),
                                                 Category.name_zh, Category.name_en)
        .outerjoin(Target, Target.id == Case.target_id)
        .outerjoin(held, held.id == func.coalesce(Case.department_id, Case.unit_id))
        .join(Category, Category.id == Case.category_id)
        .where(Case.id.in_(wanted)))}
    if set(rows) != set(wanted):
        raise ValidationFailed({"cases": _("Pick cases of the campaign with a photo before and after, please.")})
    return [{"case": i, "title": rows[i].title, "site": rows[i].site or "", "unit": rows[i].unit or "",
             "category": {"zh": rows[i].name_zh, "en": rows[i].name_en},
             "before": rows[i].before, "after": rows[i].after} for i in wanted]


def photo(user: User, campaign: Campaign, issue_id: int, attachment_id: int) -> Attachment:
    """A photo shown in a circular the user may read (not found otherwise): read by the
    circular's readers, whatever the case's scope."""
    issue = get(user, campaign, issue_id)
    attachment = db.session.get(Attachment, attachment_id) if attachment_id in photo_ids(issue.figures) else None
    if attachment is None:  # not shown, or removed since (a photo found unreadable once processed)
        raise NotFound(_("No such file."))
    return attachment


def photo_ids(figures: dict[str, Any]) -> set[int]:
    """The photos a circular shows (to process, if pending, before its document is made)."""
    return {p[k] for p in figures.get("pairs") or [] for k in ("before", "after")}


def photo_bytes(figures: dict[str, Any]) -> list[tuple[dict[str, Any], bytes, bytes]]:
    """Each pair with the bytes of its photos, for the document (a pair whose photo was found
    unreadable and removed is left out)."""
    out = []
    for pair in figures.get("pairs") or []:
        before, after = db.session.get(Attachment, pair["before"]), db.session.get(Attachment, pair["after"])
        if before is not None and after is not None:
            out.append((pair, read_bytes(before, False), read_bytes(after, False)))
    return out


# -- publishing ------------------------------------------------------------------------------

def _summary(week: dict[str, Any], flags: dict[str, Any]) -> list[dict[str, str]]:
    """The circular's text, the figures inside it (一是…二是…): totals, the laggards, the sites."""
    totals = {k: sum(r[k] for r in week["units"]) for k in ("assigned", "rectified", "solved", "overdue")}
    lines = [_("This week %(assigned)d problems were assigned, %(rectified)d rectified, %(solved)d struck off "
               "and %(overdue)d flagged overdue.", **totals)]
    for flag, label in flags.items():
        lines.append(_("%(label)s: %(n)d.", label=localized(label), n=sum(r["flags"].get(flag, 0)
                                                                          for r in week["units"])))
    ranked = [r for r in week["units"] if r["rate"] is not None]
    if len(ranked) > 1:   # the bottom of a ranking, never all of it
        bottom = ranked[-min(LAGGARDS, len(ranked) - 1):][::-1]
        lines.append(_("Lowest rectification rates: %(units)s.",
                       units="、".join(f"{r['name']}（{bi.pct(r['rate'])}）" for r in bottom)))
    if week["sites"]:
        lines.append(_("Sites with most problems: %(sites)s.",
                       sites="、".join(f"{s['name']}（{s['problems']}）" for s in week["sites"][:LAGGARDS])))
    return [{"key": "news", "title": _("This week"), "text": "\n".join(lines)}]


def publish(actor: User, campaign: Campaign, day: date, *, cases: Iterable[Any] = (), signed_by: str | None = None,
            main_to: str = "", copy_to: str = "") -> Bulletin:
    """Publish the week of `day` as the next circular of the campaign: its figures counted now in
    the publisher's scope, frozen with the photo pairs of `cases`; a week is published once."""
    if not may_publish(actor, campaign):
        raise Forbidden(_("Only the office publishes the campaign's circular."))
    monday, sunday = week_of(day)
    bi.hold_issues(actor.unit_id)
    same = db.session.scalars(select(Bulletin).where(
        Bulletin.unit_id == actor.unit_id, Bulletin.campaign == campaign.code, Bulletin.type == KIND,
        Bulletin.date_from == monday, Bulletin.published_at.is_not(None))).first()
    if same is not None:
        raise Conflict(_("This week is already published as issue %(n)d.", n=same.number), "published")
    signer = (actor.name if signed_by is None else signed_by).strip()
    lines = {"main_to": main_to.strip(), "copy_to": copy_to.strip()}
    errors = {k: text_error(v) or (_("At most %(n)d characters, please.", n=MAX_LINE) if len(v) > MAX_LINE else None)
              for k, v in lines.items()}
    errors["signed_by"] = text_error(signer) or (_("At most %(n)d characters, please.", n=60)
                                                 if len(signer) > 60 else None)
    if any(errors.values()):
        raise ValidationFailed({k: v for k, v in errors.items() if v}, _("Please correct the marked fields."))
    pairs = _pairs(actor, campaign, cases)
    week = week_figures(actor, campaign, day)
    issue = Bulletin(unit_id=actor.unit_id, campaign=campaign.code, type=KIND, date_from=monday, date_to=sunday,
                     narrative={}, typical=[], signed_by=signer or None, published_by_id=actor.id)
    year, number, total = bi.next_number(issue)
    circulation = {**lines, "printed_by": actor.unit.name}
    issue.year, issue.number, issue.total = year, number, total
    issue.circulation = circulation
    issue.figures = {**week, "masthead": title_of(campaign), "campaign_name": campaign.name,
                     "unit": {"code": actor.unit.code, "name": actor.unit.name}, "type": KIND,
                     "year": year, "number": number, "total": total, "published_on": today().isoformat(),
                     "week_number": week_number(campaign, monday), "signed_by": signer or None,
                     "circulation": circulation, "narrative": _summary(week, week["flags"]), "typical": [],
                     "corrects": None, "pairs": pairs}
    issue.published_at = now()
    db.session.add(issue)
    db.session.flush()
    return issue


# -- reading ---------------------------------------------------------------------------------

def issues(user: User, campaign: Campaign, limit: int = 100) -> list[Bulletin]:
    """The campaign's circulars the user may read (its unit's and those below), newest first."""
    if not takes_part(user.unit, campaign):
        return []
    return list(db.session.scalars(bi.visible(user, campaign.code).where(Bulletin.type == KIND)
                                   .order_by(Bulletin.published_at.desc(), Bulletin.id.desc()).limit(limit)))


def get(user: User, campaign: Campaign, issue_id: int) -> Bulletin:
    """One published circular of the campaign the user may read; anything else is not found."""
    if not takes_part(user.unit, campaign):
        raise NotFound(_("No such issue."))
    issue = bi.get(user, issue_id, campaign.code)
    if issue.type != KIND or issue.published_at is None:
        raise NotFound(_("No such issue."))
    return issue


def as_json(issue: Bulletin, full: bool = False) -> dict[str, Any]:
    out = {"id": issue.id, "campaign": issue.campaign, "type": issue.type, "title": issue.figures.get("masthead"),
           "year": issue.year, "number": issue.number, "total": issue.total,
           "period_from": issue.date_from.isoformat(), "period_to": issue.date_to.isoformat(),
           "week_number": issue.figures.get("week_number"), "unit": issue.figures.get("unit"),
           "published_at": issue.published_at.isoformat() if issue.published_at else None,
           "signed_by": issue.signed_by}
    if full:
        out["figures"] = {k: issue.figures.get(k) for k in ("units", "kinds", "sites", "flags", "communities",
                                                             "narrative", "pairs", "circulation")}
    return out


# -- the document ----------------------------------------------------------------------------

def tables(figures: dict[str, Any]) -> list[Table]:
    """The circular's tables: by responsible unit with the rank, by kind of problem, the sites."""
    flags = figures.get("flags") or {}
    counts = [_("Problems assigned"), _("Rectified"), _("Struck off"), *(localized(v) for v in flags.values()),
              _("Flagged overdue"), _("Rectification rate to date")]

    def cells(r: dict[str, Any]) -> list[Any]:
        return [r["assigned"], r["rectified"], r["solved"], *(r["flags"].get(f, 0) for f in flags), r["overdue"],
                bi.pct(r["rate"])]

    units = Table("units", _("By responsible unit"), [_("Rank"), _("Responsible unit"), *counts])
    for r in figures.get("units") or []:
        units.add([r["rank"], r["name"], *cells(r)])
    kinds = Table("kinds", _("By kind of problem"), [_("Kind of problem"), *counts])
    for r in figures.get("kinds") or []:
        kinds.add([localized(r["label"]), *cells(r)])
    sites = Table("sites", _("Sites with most problems"), [_("Site"), _("Problems")])
    for s in figures.get("sites") or []:
        sites.add([s["name"], s["problems"]])
    return [units, kinds, sites]


def to_docx(figures: dict[str, Any]) -> bytes:
    return docx_of(figures, tables(figures), [], photo_bytes(figures))
