"""An inspection of a site (实地考察): each item of its kind's checklist ticked 达标 / 不达标, and one
problem filed per failed item, with its photo, assigned to the site's responsible unit (or the
one the inspector names)."""
from __future__ import annotations

from typing import IO, Any

from flask_babel import gettext as _
from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import SiteInspection, Target, User
from casetrack.services.casework.attachments import decode_photos
from casetrack.services.workdays.calendar import now, parse_day, today
from casetrack.services.organisation.campaigns import campaign_named
from casetrack.services.casework.cases import file_case, whole_number
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.fieldwork.targets import scoped_sites

PASS, FAIL = "pass", "fail"


def inspect_site(actor: User, campaign: Any, site: Any, results: Any, problems: Any = None,
                 date: Any = None, photos: dict[str, list[tuple[IO[bytes], str]]] | None = None) -> SiteInspection:
    """Record the inspection and file a problem for every failed item (`problems[item]`: an
    optional title, description and responsible unit; `photos[item]`: its photos). All or
    nothing: a refused problem refuses the inspection, with the item in the field's name."""
    chosen = campaign_named(campaign)
    errors: dict[str, str] = {}
    row = None
    if (isinstance(site, int) and not isinstance(site, bool)) or (isinstance(site, str) and whole_number(site)):
        row = db.session.scalars(scoped_sites(actor, chosen.code).where(
            Target.id == int(site), Target.active.is_(True))).first() if 0 < int(site) < 2**31 else None
    if row is None:
        raise ValidationFailed({"site": _("No such site of this campaign in your county.")})
    checklist = chosen.checklists.get(row.kind) or {}
    if not checklist:
        raise ValidationFailed({"site": _("This kind of site has no checklist.")})
    if not isinstance(results, dict):
        raise ValidationFailed({"results": _("Each item of the checklist: pass or fail.")})
    for code in results:
        if code not in checklist:
            errors[f"results.{code}"] = _("Not an item of this site's checklist.")
    for code in checklist:
        if results.get(code) not in (PASS, FAIL):
            errors[f"results.{code}"] = _("Pass or fail, please.")
    problems = problems if isinstance(problems, dict) else {}
    for code in problems:
        if code not in checklist or results.get(code) != FAIL:
            errors[f"problems.{code}"] = _("Only a failed item is filed as a problem.")
    day = today()
    if date not in (None, ""):
        try:
            day = parse_day(date)
        except (TypeError, ValueError):
            errors["date"] = _("A date like 2026-07-31, please.")
        else:
            if day > today():
                errors["date"] = _("An inspection cannot be in the future.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))

    filed: dict[str, int] = {}
    for code, item in checklist.items():
        if results[code] != FAIL:
            continue
        given = problems.get(code) if isinstance(problems.get(code), dict) else {}
        try:
            case = file_case(actor, campaign=chosen.code, target=row.id, category=item.category, kind="individual",
                             title=given.get("title") or f"{row.name}：{localized(item.label)}不达标",
                             description=given.get("description", ""), found_on=day.isoformat(),
                             fields={k: v for k, v in given.items() if k == "department"},
                             photos=(photos or {}).get(code) or decode_photos(given.get("photos")))
        except ValidationFailed as exc:
            raise ValidationFailed({f"problems.{code}.{k}": v for k, v in exc.errors.items()},
                                   _("Please correct the marked fields.")) from None
        filed[code] = case.id
    inspection = SiteInspection(campaign=chosen.code, target_id=row.id, unit_id=actor.unit_id, inspected_on=day,
                                results={code: results[code] == PASS for code in checklist}, cases=filed,
                                created_by_id=actor.id, created_at=now())
    db.session.add(inspection)
    db.session.flush()
    return inspection

