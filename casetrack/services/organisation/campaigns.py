"""Campaigns (活动) as a dimension: which there are, who takes part, their categories and targets."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import CampaignPair, CampaignUnit, Category, Unit, User
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.workflow.campaigns import Campaign, Campaigns

# The offices run every campaign: they coordinate, and their leaders see all of it.
OFFICE_KINDS = ("county", "city", "province")


def campaigns() -> Campaigns:
    return current_app.extensions["casetrack.campaigns"]


def default_campaign() -> Campaign:
    c = campaigns()
    return c.get(c.default)


def campaign_named(code: Any, field: str = "campaign") -> Campaign:
    """The campaign of that code; anything else is refused with a message."""
    if isinstance(code, str) and code in campaigns().by_code:
        return campaigns().get(code)
    raise ValidationFailed({field: _("No such campaign.")}, _("No such campaign."))


def optional_campaign(code: Any) -> Campaign | None:
    """A filter's campaign: none when not given."""
    return None if code in (None, "") else campaign_named(code)


def campaign_taken_part_in(unit: Unit | None, code: str) -> Campaign:
    """The campaign of a page or endpoint of its own (its board, circulars, daily feedback), if
    `unit` takes part in it: none of that code is NotFound, one of another unit Forbidden (which
    campaigns run is no secret: `GET /api/v1/campaigns` lists them all)."""
    if code not in campaigns().by_code:
        raise NotFound(_("No such campaign."))
    chosen = campaigns().get(code)
    if not takes_part(unit, chosen):
        raise Forbidden(_("Your unit does not take part in this campaign."))
    return chosen


def takes_part(unit: Unit | None, campaign: Campaign) -> bool:
    """An office runs every campaign; another unit takes part in a campaign that lists it or a
    unit above it, or that lists no unit at all."""
    if unit is None:
        return False
    if unit.kind in OFFICE_KINDS:
        return True
    listed = set(db.session.scalars(select(CampaignUnit.unit_id).where(CampaignUnit.campaign == campaign.code)))
    if not listed:
        return True
    ids = {int(i) for i in unit.path.strip("/").split("/") if i}
    return bool(listed & ids)


def campaigns_of(user: User) -> list[Campaign]:
    """The campaigns the user works in, the default first."""
    return [c for c in campaigns().by_code.values() if takes_part(user.unit, c)]


def campaign_categories(campaign: Campaign, active: list[Category]) -> list[Category]:
    """The campaign's own categories (in the file's order), or every active one when it lists none."""
    if not campaign.categories:
        return active
    by_code = {c.code: c for c in active}
    return [by_code[code] for code in campaign.categories if code in by_code]


def add_categories() -> int:
    """Add the categories the campaigns list that the database lacks; returns how many."""
    have = set(db.session.scalars(select(Category.code)))
    added = 0
    position = len(have)
    for campaign in campaigns().by_code.values():
        for code, label in campaign.categories.items():
            if code not in have:
                position += 1
                db.session.add(Category(code=code, name_zh=label.get("zh", code), name_en=label.get("en", code),
                                        position=position))
                have.add(code)
                added += 1
    db.session.flush()
    return added


def set_units(campaign: Campaign, units: list[Unit]) -> None:
    """The units that take part in the campaign (with those below them), in place of any before."""
    db.session.execute(CampaignUnit.__table__.delete().where(CampaignUnit.campaign == campaign.code))
    for unit in units:
        db.session.add(CampaignUnit(campaign=campaign.code, unit_id=unit.id))
    db.session.flush()


def pair(actor: User, campaign: Campaign, community: Any, codes: Any) -> list[Unit]:
    """Pair a community (as the sites name it) with county units (包抓单位), in place of those
    before: the county office of the units' county does it."""
    errors: dict[str, str] = {}
    if actor.role != "county_officer" or actor.unit is None or not actor.active:
        raise Forbidden(_("Only the county office pairs units with communities."))
    if not isinstance(community, str) or not community.strip() or len(community.strip()) > 80:
        errors["community"] = _("Please fill this in.")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or len(codes) > 50:
        errors["units"] = _("Unit codes, please.")
        codes = []
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(codes), Unit.active.is_(True))))
    if len(units) != len(set(codes)) or any(not actor.unit.contains(u) or u.kind in OFFICE_KINDS for u in units):
        errors["units"] = _("No such unit.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    db.session.execute(CampaignPair.__table__.delete().where(
        CampaignPair.campaign == campaign.code, CampaignPair.community == community.strip(),
        CampaignPair.unit_id.in_(select(Unit.id).where(Unit.path.startswith(actor.unit.path)))))
    for unit in units:
        db.session.add(CampaignPair(campaign=campaign.code, community=community.strip(), unit_id=unit.id))
    db.session.flush()
    return units


def pairs_of(user: User, campaign: Campaign) -> dict[str, list[Unit]]:
    """community -> its paired units, of the user's county (or the office's area)."""
    area = user.unit if user.unit is None or user.unit.kind in OFFICE_KINDS else user.unit.ancestor("county")
    if area is None:
        return {}
    out: dict[str, list[Unit]] = {}
    for row in db.session.scalars(select(CampaignPair).join(Unit, Unit.id == CampaignPair.unit_id).where(
            CampaignPair.campaign == campaign.code, Unit.path.startswith(area.path))
            .order_by(CampaignPair.community, Unit.code)):
        out.setdefault(row.community, []).append(row.unit)
    return out
