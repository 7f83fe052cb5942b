"""Test data: a small county whose every unit and role is known by name."""
from __future__ import annotations

from dataclasses import dataclass, field

from casetrack.models import Case, Unit, User
from casetrack.services.organisation import org
from casetrack.services.organisation.accounts import create_user
from casetrack.services.casework.cases import file_case


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def file(self, username: str = "group1", kind: str = "individual", **fields) -> Case:
        body = {"title": "村道坑洼，雨天无法通行", "description": "王家组到李家组的路",
                "category": "infrastructure", "kind": kind,
                "resident": {"name": "张三", "phone": "13800000000", "address": "王家组3号"}}
        body.update(fields)
        return file_case(self.users[username], **body)


# username -> (role, unit code)
USERS = {
    "county": ("county_officer", "C"),
    "admin": ("admin", None),
    "team1": ("team_leader", "T1"),
    "team2": ("team_leader", "T2"),
    "group1": ("group_leader", "G1"),
    "member1": ("group_member", "G1"),
    "group2": ("group_leader", "G2"),
    "group3": ("group_leader", "G3"),
    "dept1": ("department_handler", "D1"),
    "dept2": ("department_handler", "D2"),
    "county12": ("county_officer", "C12"),
    "leader": ("leader", "C"),
    "group14": ("group_leader", "G14"),
}

# code -> (name, kind, parent code), created in this order so the ids are known: C is 1,
# C12 is 12. Neighbouring counties C9 and C12 sit beside C at the top: C12's path '/12/'
# starts with '/1', so a subtree match that drops the slash of '/1/' leaks C12 to C.
UNITS = {
    "C": ("测试县活动办", "county", None),
    "D1": ("住建局", "department", "C"), "D2": ("环保局", "department", "C"),
    "T1": ("东山镇工作队", "team", "C"), "T2": ("西河镇工作队", "team", "C"),
    "G1": ("王家村工作组", "group", "T1"), "G2": ("李家村工作组", "group", "T1"),
    "G3": ("赵家村工作组", "group", "T2"),
    "C9": ("北岭县活动办", "county", None), "T10": ("北岭镇工作队", "team", "C9"),
    "G11": ("孙家村工作组", "group", "T10"),
    "C12": ("南湖县活动办", "county", None), "T13": ("南湖镇工作队", "team", "C12"),
    "G14": ("周家村工作组", "group", "T13"),
}


def county_of(code: str) -> str:
    """The code of the county a unit of the test world belongs to (itself for a county)."""
    while UNITS[code][2] is not None:
        code = UNITS[code][2]
    return code


def build_world(password: str = "secret") -> World:
    """County C: teams T1 (groups G1, G2) and T2 (group G3), departments D1, D2; beside it
    counties C9 and C12, each with one team and one group."""
    w = World()
    org.ensure_categories()
    for code, (name, kind, parent) in UNITS.items():
        w.units[code] = org.create_unit(code, name, kind, parent)
    assert (w.units["C"].id, w.units["C12"].id) == (1, 12)
    for username, (role, unit) in USERS.items():
        w.users[username] = create_user(username, password, role, unit, name=username)
    return w


def add_rectification(w: World, password: str = "secret") -> dict[str, int]:
    """The civilized-city campaign in county C: an inspection unit I (督查组) with `inspector1`,
    two sites of D1 and one of D2, and in county C12 a site of its own; returns the sites' ids."""
    from casetrack.extensions import db
    from casetrack.models import Target
    from casetrack.services.organisation.campaigns import add_categories
    add_categories()
    w.units["I"] = org.create_unit("I", "县创城督查组", "inspection", "C")
    w.units["D13"] = org.create_unit("D13", "南湖县住建局", "department", "C12")
    w.users["inspector1"] = create_user("inspector1", password, "inspector", "I", name="inspector1")
    sites = {"market": ("farm_market", "城东农贸市场", "D1"), "alley": ("back_alley", "解放路背街小巷", "D1"),
             "toilet": ("public_toilet", "人民公园公厕", "D2"), "far": ("farm_market", "南湖农贸市场", "D13")}
    villages = {"market": "城东社区", "alley": "解放社区", "toilet": "解放社区", "far": "南湖社区"}
    ids = {}
    for key, (kind, name, unit) in sites.items():
        row = Target(kind=kind, name=name, address=name, group_id=w.units[unit].id, campaign="rectification",
                     village=villages[key])
        db.session.add(row)
        db.session.flush()
        ids[key] = row.id
    return ids
