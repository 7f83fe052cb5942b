"""A demo county like the 2012 speech's: 11 teams, 144 groups, ~1,000 cadres, 24 departments."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import VISIT_KINDS, Case, Category, Milestone, Suggestion, Target, Unit, User, Visit
from casetrack.services.workdays import calendar
from casetrack.services.organisation.accounts import hash_password
from casetrack.services.casework.cases import allowed_triggers, file_case, fire
from casetrack.services.dataset.demo_rectification import load_rectification
from casetrack.services.dataset.fields import trigger_fields
from casetrack.services.organisation.org import create_unit, ensure_categories
from casetrack.services.figures import summaries
from casetrack.services.reports.bulletin_issues import publish_period
from casetrack.workflow import URGENCIES

if TYPE_CHECKING:
    from faker import Faker

DEPARTMENTS = ["住建局", "环保局", "人社局", "卫生局", "教育局", "民政局", "公安局", "交通运输局",
               "水利局", "农业局", "国土资源局", "市场监督管理局", "城管局", "财政局", "发改局",
               "信访局", "林业局", "工信局", "商务局", "文广新局", "安监局", "扶贫办", "供电公司",
               "食品药品监督管理局"]

PROBLEMS = {
    "infrastructure": ["村道坑洼，雨天无法通行", "灌溉水渠淤堵，影响春耕", "自来水管网老化经常停水"],
    "environment": ["养殖场污水直排河道", "砖厂粉尘污染严重", "垃圾焚烧气味扰民"],
    "social_security": ["新农保缴费记录有误", "低保评定不公开", "医保报销手续繁琐"],
    "rural_health": ["村卫生室缺少常用药", "乡村医生年龄偏大无人接替"],
    "housing": ["危房改造补助未到位", "住房漏雨需要维修"],
    "education": ["校车接送路线不合理", "留守儿童午餐问题"],
    "employment": ["返乡农民工求职难", "技能培训信息不畅"],
    "elderly_care": ["高龄老人无人照料", "敬老院床位不足"],
    "land": ["征地补偿款迟迟未发放", "拆迁安置房交付延期"],
    "overhead_wires": ["楼道私拉电线充电有隐患", "空中飞线影响通行安全"],
    "compound": ["小区物业管理混乱", "小区停车位不足"],
    "market": ["集贸市场占道经营", "农资价格虚高"],
    "public_security": ["夜间路灯损坏治安隐患", "电信诈骗宣传不到位"],
    "collective_economy": ["村集体账目不公开", "集体土地流转收益分配不清"],
}



@dataclass
class DemoCounty:
    teams: int = 11
    groups: int = 144
    members_per_group: int = 6
    departments: int = 24
    targets_per_group: int = 21
    cases: int = 1500
    seed: int = 2012


DEMO_ACCOUNTS = [
    ("county", "county_officer", "county"),
    ("admin", "admin", None),
    ("team01", "team_leader", "T01"),
    ("group001", "group_leader", "G001"),
    ("group002", "group_leader", "G002"),
    ("group013", "group_leader", "G013"),
    ("dept01", "department_handler", "D01"),
    ("leader", "leader", "county"),
    ("inspector", "inspector", "I01"),
]


def load_demo(password: str = "demo", size: DemoCounty | None = None) -> bool:
    """Load the demo county once; returns False (and changes nothing) if it is there already."""
    size = size or DemoCounty()
    if db.session.scalars(select(Unit).where(Unit.code == "county")).first():
        return False
    # Faker comes with the `demo` extra only (the generator and PROBLEMS need none of it).
    from faker import Faker
    rng = random.Random(size.seed)
    fake = Faker("zh_CN")
    fake.seed_instance(size.seed)
    ensure_categories()
    pw_hash = hash_password(password)  # one hash for every demo account keeps loading fast

    county = create_unit("county", f"{fake.city_name()}县大走访活动办公室", "county")
    depts = [create_unit(f"D{i + 1:02d}", DEPARTMENTS[i % len(DEPARTMENTS)], "department", "county")
             for i in range(size.departments)]
    teams = [create_unit(f"T{i + 1:02d}", f"{fake.district()}镇工作队", "team", "county")
             for i in range(size.teams)]
    # Team 01 gets 12 groups so that G013 belongs to another team (a demo account relies on it).
    first = min(12, size.groups)
    rest = size.groups - first
    sizes = [first] + [rest // (size.teams - 1) + (1 if i < rest % (size.teams - 1) else 0)
                       for i in range(size.teams - 1)]
    groups: list[Unit] = []
    for team, n in zip(teams, sizes):
        for _ in range(n):
            code = f"G{len(groups) + 1:03d}"
            groups.append(create_unit(code, f"{fake.street_name()}村工作组", "group", team.code))

    users: list[User] = [User(username="admin", name="系统管理员", role="admin", unit=None,
                              password_hash=pw_hash)]

    def person(username: str, role: str, unit: Unit) -> User:
        user = User(username=username, name=fake.name(), role=role, unit=unit,
                    phone=fake.phone_number(), password_hash=pw_hash)
        users.append(user)
        return user

    person("county", "county_officer", county)
    person("county02", "county_officer", county)
    for i, dept in enumerate(depts):
        person(f"dept{i + 1:02d}", "department_handler", dept)
    for i, team in enumerate(teams):
        person(f"team{i + 1:02d}", "team_leader", team)
        person(f"team{i + 1:02d}d", "team_leader", team)
    for i, group in enumerate(groups):
        person(f"group{i + 1:03d}", "group_leader", group)
        for m in range(size.members_per_group):
            person(f"g{i + 1:03d}m{m + 1}", "group_member", group)
    db.session.add_all(users)
    db.session.flush()

    by_unit: dict[int, dict[str, User]] = {}
    for user in users:
        if user.unit_id is not None:
            by_unit.setdefault(user.unit_id, {}).setdefault(user.role, user)
    members = {g.id: [u for u in users if u.unit_id == g.id] for g in groups}

    start = datetime.now(timezone.utc) - timedelta(days=60)
    kinds = list(VISIT_KINDS)
    kind_weights = [40, 12, 4, 12, 3, 3, 2, 2, 2]
    targets: list[Target] = []
    for group in groups:
        village = group.name.removesuffix("工作组")
        for n in range(size.targets_per_group):
            kind = rng.choices(kinds, kind_weights)[0]
            name = fake.company() if kind == "enterprise" else (
                f"{fake.name()}户" if kind.endswith("household") else f"{village}{kind_name(kind)}")
            targets.append(Target(code=f"{group.code}-{n + 1:03d}", kind=kind, name=name,
                                  address=fake.street_address(),
                                  village=village, group=group,
                                  cadre=rng.choice(members[group.id])))
    db.session.add_all(targets)
    db.session.flush()
    visits = []
    with summaries.recount() as counted:   # the figures of all these targets and visits at once
        for target in targets:
            if rng.random() < 0.7:
                visits.append(Visit(target=target, group_id=target.group_id,
                                    visited_on=(start + timedelta(days=rng.randint(0, 59))).date(),
                                    notes=fake.sentence(), suggestions=rng.choice([0, 0, 1, 2]),
                                    created_by_id=target.cadre_id, cadres=[target.cadre]))
        db.session.add_all(visits)
        counted.new_targets(t.id for t in targets)
        counted.visits(visits)
    # The timetable, set by the county office: from 0% on the first day to 100% a month from now.
    db.session.add_all(Milestone(unit=county, due_on=(start + timedelta(days=days)).date(),
                                 target_percent=percent)
                       for days, percent in ((0, 0), (45, 70), (90, 100)))
    db.session.flush()

    categories = {c.code: c for c in db.session.scalars(select(Category))}
    for _ in range(size.cases):
        visit = rng.choice(visits)
        group = visit.target.group
        code = rng.choice(list(PROBLEMS))
        moment = datetime.combine(visit.visited_on, datetime.min.time(), timezone.utc) + timedelta(
            hours=rng.randint(1, 10))
        with calendar.at(moment):
            case = file_case(
                rng.choice(members[group.id]), title=rng.choice(PROBLEMS[code]),
                description=fake.paragraph(nb_sentences=2), category=categories[code].code,
                kind=rng.choices(["individual", "shared"], [4, 1])[0],
                urgency=rng.choices(URGENCIES, [6, 1])[0],
                resident={"name": fake.name(), "phone": fake.phone_number(),
                          "address": fake.address()},
                target=visit.target_id, visit=visit.id)
        _walk(case, rng, fake, by_unit, depts, moment)
    db.session.flush()
    load_petitions(rng, fake, county, teams, groups, by_unit, start)
    _ledger_demo(rng, fake, pw_hash, county, groups, start)
    load_rectification(rng, fake, pw_hash, county, depts, groups, by_unit)
    # last week's 简报 published (第1期), so that the issues' pages have one to show
    monday = calendar.today() - timedelta(days=calendar.today().weekday() + 7)
    publish_period(by_unit[county.id]["county_officer"], county, monday, monday + timedelta(days=6))
    return True


# -- the campaign ledger (issue 23): leaders, posts, meetings, suggestions answered --------------

LEADERS = [("leader", "county_principal"), ("leader02", "secretary_county"), ("leader03", None)]
SUGGESTIONS = [("建议村里修建文化广场", "infrastructure", "adopted", "已列入明年村级项目计划"),
               ("希望增设公交站点", "infrastructure", "partly_adopted", "已协调增设临时停靠点"),
               ("建议提高高龄补贴标准", "elderly_care", "explained", "补贴标准由省里统一规定，已向群众解释"),
               ("希望开展农技培训", "employment", None, "")]


def _ledger_demo(rng: random.Random, fake: Faker, pw_hash: str, county: Unit, groups: list[Unit],
                 start: datetime) -> None:
    """Leaders with posts and contact points, village meetings that reach many households, a
    leader's visits (one to a place no target names), suggestions kept as items, some answered."""
    from casetrack.services.fieldwork.ledger import add_contact_point, answer_suggestion
    from casetrack.services.fieldwork.visits import record_visit
    leaders = [User(username=name, name=fake.name(), role="leader", unit=county, post=post, phone=fake.phone_number(),
                    password_hash=pw_hash) for name, post in LEADERS]
    db.session.add_all(leaders)
    by_name = {u.username: u for u in db.session.scalars(select(User).where(
        User.username.in_(["group001", "group013", "g001m1"])))}
    by_name["group001"].post = "secretary_village"
    db.session.flush()
    targets = {g.id: list(db.session.scalars(select(Target).where(Target.group_id == g.id).order_by(Target.id)))
               for g in groups[:13]}
    add_contact_point(leaders[0], unit=groups[0])
    add_contact_point(leaders[0], target=next((t for t in targets[groups[0].id] if t.kind == "enterprise"),
                                              targets[groups[0].id][0]))
    add_contact_point(leaders[1], unit=groups[12])
    day = (start + timedelta(days=50)).date()
    moment = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=2)
    with calendar.at(moment):
        for group in groups[:3]:   # a village meeting reaches many households in one visit
            cadre = db.session.scalars(select(User).where(User.unit_id == group.id,
                                                          User.role == "group_leader")).first()
            households = [t.id for t in targets[group.id] if t.kind.endswith("household")][:8] or \
                [t.id for t in targets[group.id]]
            visit, _cases = record_visit(cadre, targets=households, date=day.isoformat(), form="meeting",
                                         notes=f"在{group.name.removesuffix('工作组')}村委会召开群众座谈会",
                                         suggestions=[{"text": text, "category": cat} for text, cat, *_a in SUGGESTIONS])
            for suggestion, (_t, _c, answer, reply) in zip(
                    db.session.scalars(select(Suggestion).where(Suggestion.visit_id == visit.id).order_by(Suggestion.id)),
                    SUGGESTIONS):
                if answer:
                    answer_suggestion(cadre, suggestion, answer, reply)
        record_visit(leaders[0], targets=[targets[groups[0].id][-1].id], date=day.isoformat(), form="door_to_door",
                     cadres=["leader", "group001", "g001m1"], notes="县主要负责同志到联系点入户走访")
        record_visit(leaders[1], place="县城汽车站广场", group=groups[12].code, date=day.isoformat(),
                     form="reception", cadres=["leader02", "group013"], notes="现场接待群众反映交通出行问题")
    db.session.flush()


def kind_name(kind: str) -> str:
    return {"community": "社区", "village": "村委会", "key_project": "重点项目", "school": "小学",
            "building_site": "建筑工地"}.get(kind, kind)


def _walk(case: Case, rng: random.Random, fake: Faker, by_unit: dict[int, dict[str, User]],
          depts: list[Unit], moment: datetime) -> None:
    """Drive a case along a random path of its workflow, as the users holding it would (and
    the county office, where a transition lets a unit whose scope has the case act)."""
    now = datetime.now(timezone.utc)
    office = by_unit.get(case.group.ancestor("county").id, {})
    while rng.random() < 0.8:
        moment += timedelta(hours=rng.randint(4, 96))
        if moment >= now:
            return
        actors = {u.id: u for u in [*by_unit.get(case.unit_id, {}).values(), *office.values()]}
        options = [(t, u) for u in actors.values() for t in allowed_triggers(case, u)]
        if not options:
            return
        spec, actor = rng.choices(options, [t.weight for t, _ in options])[0]
        with calendar.at(moment):
            fire(case, spec.trigger, actor, **trigger_fields(case, spec.trigger, actor, rng, fake, depts))


# -- petitions (信访): receptions, cases taken down, long-standing cases with their owners ------

PETITIONS = [("land", "反映征地补偿款未足额发放"), ("housing", "反映危房改造补助未到位"),
             ("social_security", "反映低保评定不公"), ("collective_economy", "反映村集体账目不公开"),
             ("environment", "反映养殖场污水直排"), ("land", "反映拆迁安置房交付延期"),
             ("employment", "反映企业拖欠农民工工资")]
BACKLOG = ["王某某反映1998年企业改制职工安置遗留问题", "李某某反映宅基地权属纠纷多年未解决",
           "赵某某等反映水库移民后期扶持资金问题", "陈某某反映交通事故赔偿执行难",
           "刘某某反映征地补偿标准偏低"]


def load_petitions(rng: random.Random, fake: Faker, county: Unit, teams: list[Unit], groups: list[Unit],
                   by_unit: dict[int, dict[str, User]], start: datetime) -> None:
    """Receptions by groups, teams and the office (some collective, some filed as cases, some of
    those taken down), and a handful of long-standing petition cases owned by leaders."""
    from casetrack.services.casework.petitions import record_petition, take_down
    receivers = ([by_unit[g.id]["group_leader"] for g in groups[:24]] +
                 [by_unit[t.id]["team_leader"] for t in teams] + [by_unit[county.id]["county_officer"]] * 4)
    for _ in range(40):
        actor = rng.choice(receivers)
        moment = start + timedelta(days=rng.randint(0, 58), hours=rng.randint(1, 9))
        category, subject = rng.choice(PETITIONS)
        collective = rng.random() < 0.2
        with calendar.at(moment):
            petition = record_petition(
                actor, date=calendar.today().isoformat(), form=rng.choices(["visit", "letter", "online", "phone"],
                                                                            [6, 2, 2, 1])[0],
                persons=rng.randint(6, 30) if collective else rng.randint(1, 3), collective=collective,
                place=f"{actor.unit.name}接待室", subject=subject, details=fake.sentence(), category=category,
                residents=[{"name": fake.name(), "phone": fake.phone_number()}],
                file_case=rng.random() < 0.4)
            if petition.case is not None and rng.random() < 0.5:
                take_down(actor, petition.case, date=calendar.today().isoformat(), cadres=[actor.username])
    _backlog(rng, fake, county, teams, by_unit, start)


def _backlog(rng: random.Random, fake: Faker, county: Unit, teams: list[Unit],
             by_unit: dict[int, dict[str, User]], start: datetime) -> None:
    """Long-standing petition cases registered by the office, each owned by a team leader or an
    officer of the office, driven by the petition workflow's own transitions (none named here)."""
    from casetrack.services.casework.cases import registry
    wf = registry().latest("petition")
    office = by_unit[county.id]["county_officer"]
    owners = [by_unit[t.id]["team_leader"] for t in teams[:4]] + [office]
    for i, title in enumerate(BACKLOG):
        moment = start + timedelta(days=i * 3, hours=2)
        with calendar.at(moment):
            case = file_case(office, title=title, description=fake.paragraph(nb_sentences=2), category="petition",
                             kind="individual", workflow=wf.name,
                             resident={"name": fake.name(), "phone": fake.phone_number(), "address": fake.address()})
        owner = owners[i % len(owners)]
        for step in range(i % 4 + 1):   # each case a little further along
            moment += timedelta(days=rng.randint(2, 8))
            actor = owner if wf.states[case.state].held_by == "owner" else office
            options = [t for t in allowed_triggers(case, actor)
                       if not t.when or all(v is True for v in t.when.values())]
            if not options or moment > datetime.now(timezone.utc):
                break
            spec = options[-1] if step == i % 4 else options[0]
            with calendar.at(moment):
                fire(case, spec.trigger, actor, **_petition_fields(wf, spec, owner, fake))


def _petition_fields(wf, spec, owner: User, fake: Faker) -> dict:
    values = {}
    for name in spec.required:
        ftype = wf.fields[name].type
        values[name] = {"user": owner.username, "bool": True,
                        "date": (calendar.today() + timedelta(days=60)).isoformat()}.get(ftype, fake.sentence())
    return values
