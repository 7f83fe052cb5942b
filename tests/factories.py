"""Test data: a small county whose every unit and role is known by name."""
from __future__ import annotations

from dataclasses import dataclass, field

from casetrack.models import Case, Unit, User
from casetrack.services import org
from casetrack.services.accounts import create_user
from casetrack.services.cases import file_case


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
}


def build_world(password: str = "secret") -> World:
    """County C; teams T1 (groups G1, G2) and T2 (group G3); departments D1, D2."""
    w = World()
    org.ensure_categories()
    for code, name, kind, parent in [
        ("C", "测试县活动办", "county", None),
        ("D1", "住建局", "department", "C"), ("D2", "环保局", "department", "C"),
        ("T1", "东山镇工作队", "team", "C"), ("T2", "西河镇工作队", "team", "C"),
        ("G1", "王家村工作组", "group", "T1"), ("G2", "李家村工作组", "group", "T1"),
        ("G3", "赵家村工作组", "group", "T2"),
    ]:
        w.units[code] = org.create_unit(code, name, kind, parent)
    for username, (role, unit) in USERS.items():
        w.users[username] = create_user(username, password, role, unit, name=username)
    return w
