"""The demo's second campaign: the civilized-city inspection and rectification (创城督查整改) of the
demo county's seat: an inspection unit with the `inspector` account, the sites of the district
with their responsible units, each community paired with county units, and four weeks of
inspections: each site ticked against its checklist, a problem with its photo for every failed
item, walked through the rectification workflow as its holders would."""
from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw
from casetrack.extensions import db
from casetrack.models import CampaignPair, Case, Target, Unit, User
from casetrack.services.workdays import calendar
from casetrack.services.casework.attachments import attach
from casetrack.services.organisation.campaigns import add_categories, campaigns, set_units
from casetrack.services.casework.cases import allowed_triggers, fire, registry
from casetrack.services.casework.daily import STATUSES, open_problems, report_feedback
from casetrack.services.dataset.fields import trigger_fields
from casetrack.services.fieldwork.inspections import FAIL, PASS, inspect_site
from casetrack.services.organisation.org import create_unit
from casetrack.services.reports import circulars

CAMPAIGN = "rectification"
# (site kind, how many, name pattern): the district's assessment sites (实地考察点位).
SITES = [("farm_market", 4, "{street}农贸市场"), ("back_alley", 8, "{street}背街小巷"),
         ("old_compound", 6, "{street}老旧小区"), ("public_toilet", 4, "{street}公厕"),
         ("park_square", 3, "{street}广场"), ("school_area", 3, "{street}小学周边"),
         ("hospital", 2, "县人民医院{n}号门")]
# What inspectors find, by category (seeds 000, 001).
SHORTFALLS = {
    "sanitation": ["路面垃圾未及时清运", "垃圾桶满溢、周边脏乱", "绿化带内白色垃圾较多"],
    "market": ["占道经营、出店经营", "市场内生熟不分、摊位杂乱", "车辆乱停乱放堵塞通道"],
    "overhead_wires": ["空中飞线杂乱、私拉乱接", "废弃线缆垂挂未清理"],
    "compound": ["楼道堆放杂物", "小区内私搭乱建", "小区化粪池外溢"],
    "back_alley": ["背街小巷路面破损", "墙面乱贴乱画小广告"],
    "public_ads": ["公益广告破损褪色", "公益广告数量不足、内容过时"],
}
INSPECTIONS = 40          # site inspections over the four weeks (about 50 problems): quick to load
DAYS = 28


def photo(rng: random.Random, before: bool) -> io.BytesIO:
    """A small generated picture: grey clutter before the work, a clean green scene after it."""
    image = Image.new("RGB", (160, 120), (150, 150, 140) if before else (120, 180, 120))
    draw = ImageDraw.Draw(image)
    for _ in range(12 if before else 2):
        x, y = rng.randint(0, 150), rng.randint(40, 110)
        draw.rectangle((x, y, x + rng.randint(5, 25), y + rng.randint(5, 15)),
                       fill=(rng.randint(60, 120), rng.randint(40, 90), 30) if before else (90, 140, 90))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    out.seek(0)
    return out


def load_rectification(rng: random.Random, fake, pw_hash: str, county: Unit, depts: list[Unit],
                       groups: list[Unit], by_unit: dict[int, dict[str, User]]) -> None:
    """The campaign's unit, accounts, sites and inspections (called by load_demo)."""
    add_categories()
    inspection = create_unit("I01", "县创城办督查组", "inspection", county.code)
    inspectors = [User(username=name, name=fake.name(), role="inspector", unit=inspection,
                       phone=fake.phone_number(), password_hash=pw_hash) for name in ("inspector", "inspector02")]
    db.session.add_all(inspectors)
    db.session.flush()
    by_unit[inspection.id] = {"inspector": inspectors[0]}
    campaign = campaigns().get(CAMPAIGN)
    set_units(campaign, [inspection, *depts])   # the office runs it; teams and groups do not take part

    sites: list[Target] = []
    for kind, count, pattern in SITES:
        for n in range(count):
            community = rng.choice(groups).name.removesuffix("村工作组")
            name = pattern.format(street=fake.street_name(), n=n + 1)
            sites.append(Target(code=f"S-{kind}-{n + 1:02d}", kind=kind, name=name, address=fake.street_address(),
                                village=f"{community}社区", group_id=rng.choice(depts[:8]).id, campaign=CAMPAIGN))
    db.session.add_all(sites)
    # each community paired with county units (包抓共建)
    db.session.add_all(CampaignPair(campaign=CAMPAIGN, community=community, unit_id=unit.id)
                       for community in sorted({s.village for s in sites})
                       for unit in rng.sample(depts, min(2, len(depts))))
    db.session.flush()

    office = by_unit.get(county.id, {})
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=DAYS)
    for i in range(INSPECTIONS):
        site = rng.choice(sites)
        moment = start + timedelta(days=i * DAYS // INSPECTIONS, hours=rng.randint(1, 8))
        inspector = rng.choice(inspectors)
        checklist = campaign.checklists[site.kind]
        results = {code: PASS if rng.random() < 0.6 else FAIL for code in checklist}
        # what the inspector saw, in the seeds' words, for each item that fails
        problems = {code: {"title": f"{site.name}{rng.choice(SHORTFALLS[item.category])}",
                           "description": fake.sentence()}
                    for code, item in checklist.items() if results[code] == FAIL}
        with calendar.at(moment):
            inspection = inspect_site(inspector, CAMPAIGN, site.id, results, problems,
                                      photos={code: [(photo(rng, True), "整改前.jpg")] for code in problems})
        for case_id in inspection.cases.values():
            _walk(db.session.get(Case, case_id), rng, fake, by_unit, office, inspectors[0], depts, moment, now)
    db.session.flush()
    _daily_feedback(rng, campaign, by_unit)
    # last week's 创城督查通报 published (第1期), with two struck-off cases' photos before and after
    if office.get("county_officer"):
        officer, states = office["county_officer"], registry().latest(campaign.workflow).states
        done = [c["id"] for c in circulars.candidates(officer, campaign) if states[c["state"]].final]
        circulars.publish(officer, campaign, calendar.today() - timedelta(days=7), cases=done[:2])


# What a unit says needs coordinating (需协调), in the seeds' words.
COORDINATION = ["需供电、通信公司配合迁改线路", "涉及多个部门，需县活动办协调", "需街道社区配合清理"]


def _daily_feedback(rng: random.Random, campaign, by_unit: dict[int, dict[str, User]]) -> None:
    """Today's daily feedback (日反馈) of about two units in three holding problems, so the office's
    未反馈 page shows both who has reported and who has not."""
    for users in by_unit.values():
        for user in users.values():
            problems = open_problems(user, campaign)
            if problems:
                break
        else:
            continue
        if rng.random() < 0.35:
            continue
        items = []
        for case in problems:
            status = rng.choices(list(STATUSES), [3, 6, 1])[0]
            items.append({"case": case.id, "status": status,
                          **({"expected_on": calendar.add_working_days(calendar.today(), rng.randint(1, 5))
                              .isoformat()} if status == "in_progress" else {}),
                          **({"reason": rng.choice(COORDINATION)} if status == "needs_coordination" else {})})
        report_feedback(user, campaign, items)


def _walk(case: Case, rng: random.Random, fake, by_unit: dict[int, dict[str, User]], office: dict[str, User],
          inspector: User, depts: list[Unit], moment: datetime, now: datetime) -> None:
    """Move the case as its holders would, each move a few hours to two days after the last; a
    move that needs photos has them taken first (整改后 by the unit, then by the inspector)."""
    while rng.random() < 0.85:
        moment += timedelta(hours=rng.randint(3, 48))
        if moment >= now:
            return
        holder = by_unit.get(case.unit_id, {})
        actors = {u.id: u for u in [*holder.values(), *office.values(), inspector]}
        options = [(t, u) for u in actors.values() for t in allowed_triggers(case, u)]
        if not options:
            return
        spec, actor = rng.choices(options, [t.weight for t, _ in options])[0]
        with calendar.at(moment):
            if spec.photos is not None:
                for _n in range(max(spec.photos.min, 1)):
                    attach(case, actor, photo(rng, False), "整改后.jpg", spec.photos.stage)
            fire(case, spec.trigger, actor, **trigger_fields(case, spec.trigger, actor, rng, fake, depts[:8]))

