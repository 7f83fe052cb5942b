"""The access matrix: every route × every role × every relation of unit, and lists row by row.

A route without an entry in MATRIX fails the suite, so a new route is never left unchecked.
"""
from __future__ import annotations

import io

import pytest
from flask import url_for

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import CampaignPair, CaseAssist, Target, Unit
from tests.factories import UNITS, USERS, county_of
from tests.helpers import act
from casetrack.models import Case
from casetrack.workflow.current import workflow_of

PUBLIC = "public"          # anyone, logged in or not
USER = "user"              # any logged-in user; anonymous pages redirect to login
CASE = "case"              # takes a case id: 200/redirect in scope, 404 outside, no resident data leaks
API_USER = "api_user"      # any token; none → 401
API_CASE = "api_case"      # a case id over the API: in scope or 404
ADMIN = "admin"            # administrators only; others 403
OPEN311 = "open311"        # by api_key, in the user's scope: tests/test_open311.py checks every user
ATTACHMENT = "attachment"  # a case's photo or document by its id: the case's scope, 404 outside (below)


def unit_kind(kind: str) -> tuple[str, str]:
    """A page for users of one kind of unit (a board); others 403."""
    return ("unit_kind", kind)

def roles(*names: str) -> tuple[str, tuple[str, ...]]:
    """A page for users of these roles (the leader's dashboard); others 403."""
    return ("roles", names)


MATRIX = {
    "static": PUBLIC,
    "healthz": PUBLIC,
    "offline.manifest": PUBLIC,        # the installable app's manifest and service worker
    "offline.service_worker": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": USER,
    "auth.set_language": PUBLIC,
    "cases.index": USER,
    "cases.list_": USER,
    "boards.team": unit_kind("team"),
    "boards.county": unit_kind("county"),
    "boards.department": unit_kind("department"),
    "boards.campaign": USER,            # a campaign the user's unit takes part in (403 otherwise): test_rectification.py
    "boards.campaign_week": USER,       # likewise
    "feedback.report": USER,            # likewise; my unit's own open problems only: test_daily_feedback.py
    "feedback.unreported": USER,        # likewise; the units of my scope only: test_daily_feedback.py
    "admin.users": ADMIN,
    "admin.units": ADMIN,
    "admin.departments": ADMIN,
    "admin.categories": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.user_active": ADMIN,
    "admin.unit_active": ADMIN,
    "admin.category_active": ADMIN,
    "cases.new": USER,
    "cases.inspect": USER,             # a campaign with checklists (403 otherwise): test_rectification.py
    "cases.show": CASE,
    "cases.act": CASE,
    "cases.attach_files": CASE,
    "cases.attachment": ATTACHMENT,
    "cases.attachment_thumbnail": ATTACHMENT,
    "api.upload_attachment": API_CASE,
    "api.attachment": ATTACHMENT,
    "api.attachment_thumbnail": ATTACHMENT,
    "api.create_token": PUBLIC,
    "api.me": API_USER,
    "api.categories": API_USER,
    "api.campaigns": API_USER,
    "api.campaign_week": API_USER,      # the cases of my scope only: test_rectification.py
    "api.create_inspection": API_USER,  # an inspector of the campaign, at a site of its county: test_rectification.py
    "api.campaign_pairs": API_USER,     # the pairs of my county
    "api.campaign_feedback": API_USER,  # the units of my scope only: test_daily_feedback.py
    "api.report_campaign_feedback": API_USER,  # my unit's open problems only (403 without): test_daily_feedback.py
    "api.set_campaign_pairs": API_USER, # the county office only (403 otherwise): test_rectification.py
    # a campaign's circulars: read as bulletins are (the issuing unit and above, in the campaign),
    # published by the office (403 otherwise), its photos only those it shows: test_circulars.py
    **{f"circulars.{e}": USER for e in ("index", "publish", "show", "document", "photo")},
    **{f"api.{e}": API_USER for e in ("api_circulars", "api_publish_circular", "api_circular")},
    "api.units": API_USER,
    "api.create_case": API_USER,
    "api.cases": API_USER,
    "api.case": API_CASE,
    "api.transition": API_CASE,
    # visits, targets and coverage: scoped by unit (tests/test_targets.py, test_coverage.py)
    **{f"visits.{e}": USER for e in (
        "targets", "target", "new_target", "edit_target", "import_targets", "import_template",
        "new_visit", "round_", "import_visits_page", "visit_import_template", "coverage",
        "set_milestone", "delete_milestone", "unvisited", "unvisited_xlsx")},
    **{f"api.{e}": API_USER for e in (
        "targets", "target", "create_target", "update_target", "import_template", "import_targets",
        "create_visit", "create_round", "visits_import", "visits_import_template", "coverage")},
    # bulletins: scoped by unit (tests/test_bulletin.py)
    **{f"reports.{e}": USER for e in ("bulletin", "bulletin_file", "publish", "issue", "issue_file")},
    "api.report_bulletin": API_USER,
    "api.bulletins": API_USER,       # issues of units in the subtree: tests/test_bulletin_document.py
    "reports.draft": USER,           # publishers only (403 for others): tests/test_bulletin_document.py
    "reports.edit": USER,
    "reports.circulation": USER,
    # deadlines, notices, supervision, extensions, shared problems (issue 6)
    "notices.inbox": USER,
    "notices.read": USER,
    "notices.read_all": USER,
    "notices.read_group": USER,
    "settings.index": USER,
    "notices.acknowledge": USER,
    "notices.supervise": CASE,
    "notices.ask_extension": CASE,
    "notices.decide_extension": USER,
    "shared.proposals": USER,
    "shared.link": USER,
    "shared.unlink": USER,
    "shared.ledger": unit_kind("county"),
    "api.request_extension": API_CASE,
    "api.supervise": API_CASE,
    # progress reports and feedback to the resident (issue 22)
    "notices.progress": CASE,
    "notices.feedback": CASE,
    "api.progress": API_CASE,
    "api.feedback": API_CASE,
    "api.decide_extension": API_USER,
    "api.extension_ledger": API_USER,
    "api.acknowledge": API_USER,
    "api.notifications": API_USER,
    "api.read_notification": API_USER,
    "api.list_days_off": API_USER,
    "api.declare_day_off": API_USER,
    "api.remove_day_off": API_USER,
    "api.create_shared_problem": API_USER,
    "api.shared_problem_proposals": API_USER,
    "api.shared_problem": API_USER,
    "api.unlink_shared_problem_case": API_USER,
    "api.openapi": PUBLIC,
    "apidocs.browse": PUBLIC,
    "open311.services": PUBLIC,
    "open311.discovery": PUBLIC,
    "open311.service_definition": PUBLIC,
    "open311.requests_": OPEN311,
    "open311.create_request": OPEN311,
    "open311.request_": OPEN311,
    "open311.token": OPEN311,
    "settings.tokens": USER,
    "case_sheets.export": USER,     # scoped like the list: tests/test_case_sheets.py
    "case_sheets.template": USER,
    "case_sheets.import_": USER,    # group cadres only (403 for others): tests/test_case_sheets.py
    "api.export_cases": API_USER,
    "api.import_cases": API_USER,
    "webhooks.index": ADMIN,
    "webhooks.active": ADMIN,
    "webhooks.retry": ADMIN,
    "settings.revoke": USER,   # only one's own tokens: tests/web/test_tokens.py
    # petitions received and owned cases: scoped by unit and owner (tests/test_petitions.py)
    **{f"petitions.{e}": USER for e in ("index", "new", "show", "mine")},
    "petitions.take_down": CASE,
    **{f"api.{e}": API_USER for e in ("create_petition", "petitions", "petition", "owned_cases")},
    "api.take_down": API_CASE,
    # assessment (考核) and the leader's dashboard (issue 24): scoped by unit (tests/test_assessment.py,
    # tests/test_dashboard.py)
    "assessment.index": USER,
    "assessment.circular": USER,
    "api.report_assessment": API_USER,
    "assessment.dashboard": roles("county_officer", "team_leader", "leader"),
    # the campaign ledger: suggestions scoped by unit, a leader's own page (tests/test_ledger.py)
    "ledger.suggestions": USER,
    "ledger.answer": USER,
    "ledger.leader": USER,
    "api.suggestions": API_USER,
    "api.answer_suggestion": API_USER,
    "admin.user_post": ADMIN,
}


def test_every_route_has_a_matrix_entry(app):
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(MATRIX))
    assert missing == [], f"add these routes to the access matrix: {missing}"


@pytest.fixture
def county(world):
    """One case per relation: G1 (team T1), G2 (T1), G3 (T2), one referred to D1 with D2
    assisting, and one of G14 in county C12, whose id 12 begins with county C's id 1."""
    cases = {"G1": world.file("group1"), "G2": world.file("group2"), "G3": world.file("group3"),
             "D1": world.file("member1"), "G14": world.file("group14")}
    for who, trigger in [("group1", "escalate"), ("team1", "escalate")]:
        act(world, cases["D1"], who, trigger)
    act(world, cases["D1"], "county", "refer", departments=["D2"])
    db.session.commit()
    return cases


# The units of the rectification campaign's world (paired_county below), by their county.
MORE_UNITS = {"I": "C", "I12": "C12", "D13": "C12"}


def county_of_any(code: str) -> str:
    return MORE_UNITS.get(code) or county_of(code)


def may_see(username: str, case) -> bool:
    """The rule of DOMAIN.md, written apart from the code it checks."""
    role, unit = USERS[username]
    if role == "admin":
        return False
    if role in ("county_officer", "leader"):   # a leader reads its unit's whole subtree
        return county_of_any(case.group.code) == unit
    if role == "team_leader":
        # a group's cases, and a shared problem the team itself linked (filed at the team)
        return unit in (case.group.code, UNITS.get(case.group.code, ("", "", None))[2])
    if role == "department_handler":   # the lead department, or an assisting one (协办)
        assisting = set(db.session.scalars(select(Unit.code).join(CaseAssist, CaseAssist.unit_id == Unit.id)
                                           .where(CaseAssist.case_id == case.id)))
        return (case.department is not None and (case.department.code == unit or unit in assisting)) \
            or paired_with(unit, case)
    return unit in (case.group.code, case.unit.code)   # filed by the group, or held by it now


def paired_with(unit: str, case) -> bool:
    """A unit paired with a community (包抓单位) reads the problems at its sites in its own county."""
    communities = set(db.session.scalars(select(CampaignPair.community).join(Unit, Unit.id == CampaignPair.unit_id)
                                         .where(Unit.code == unit, CampaignPair.campaign == case.campaign)))
    return case.target is not None and case.target.village in communities \
        and county_of_any(case.target.group.code) == county_of_any(unit)


def build(app, endpoint, **args):
    with app.test_request_context():
        return url_for(endpoint, **args)


def holds(username: str, case) -> bool:
    """A leader sitting in the county office's unit never holds (moves) its cases."""
    return USERS[username][1] == case.unit.code and USERS[username][0] != "leader"


def attaches(username: str, case) -> bool:
    """The unit holding the case and the group that filed it add photos and files."""
    return USERS[username][1] in (case.unit.code, case.group.code)


def supervises(username: str, case) -> bool:
    """County officers and leaders urge any case of their county, team leaders the cases their
    groups hold."""
    role, unit = USERS[username]
    return role in ("county_officer", "leader") or (role == "team_leader" and UNITS[case.unit.code][2] == unit)


# What a user who may see the case gets from each case route, asked with an empty form (a
# stale version for a transition over the API): the route's own refusal (403) where the
# user sees the case but may not do that, else the form's complaint (422) or a redirect;
# "escalate" is asked, which only a group or a team can do (409 in any other state).
EXPECTED = {
    ("cases.show", "GET"): lambda u, c: 200,
    ("cases.act", "POST"): lambda u, c: 409 if c.state not in ("group", "team")
                                        else 422 if holds(u, c) else 403,
    ("notices.supervise", "POST"): lambda u, c: 302,
    ("notices.ask_extension", "POST"): lambda u, c: 302,
    ("api.case", "GET"): lambda u, c: 200,
    ("api.transition", "POST"): lambda u, c: 409,
    ("api.request_extension", "POST"):
        lambda u, c: 422 if holds(u, c) and USERS[u][0] != "group_member" else 403,
    ("api.supervise", "POST"): lambda u, c: 422 if supervises(u, c) else 403,
    ("notices.progress", "POST"): lambda u, c: 302,
    ("notices.feedback", "POST"): lambda u, c: 302,
    # the holder and the assisting department report progress; the filing group tells the resident
    ("api.progress", "POST"): lambda u, c: 422 if holds(u, c) or u == "dept2" else 403,
    ("api.feedback", "POST"): lambda u, c: 422 if USERS[u][1] == c.group.code else 403,
    ("cases.attach_files", "POST"): lambda u, c: 422 if attaches(u, c) else 403,
    ("api.upload_attachment", "POST"): lambda u, c: 422 if attaches(u, c) else 403,
    # the cadres of groups, teams and the office record a case taken down (an empty form: back
    # to the case with the message); departments may not
    # a leader reads and supervises; cadres of groups, teams and the office record a take-down
    ("petitions.take_down", "POST"): lambda u, c: 403 if USERS[u][0] in ("department_handler", "leader") else 302,
    ("api.take_down", "POST"): lambda u, c: 422,
}


def test_case_routes_answer_by_scope_and_never_leak(app, client, auth, api, county):
    tokens = {u: api(u) for u in USERS}
    cells = 0
    for username in USERS:
        auth.login(username)
        for case in county.values():
            allowed = may_see(username, case)
            for rule in app.url_map.iter_rules():
                kind = MATRIX[rule.endpoint]
                if kind not in (CASE, API_CASE):
                    continue
                args = {a: (case.id if a == "case_id" else "escalate") for a in rule.arguments}
                url = build(app, rule.endpoint, **args)
                for method in sorted(set(rule.methods) & {"GET", "POST"}):
                    if kind == CASE:
                        r = client.open(url, method=method, data={"version": case.version})
                    else:
                        r = tokens[username].client.open(url, method=method, json={"trigger": "resume",
                                                                                   "version": 99},
                                                         headers=tokens[username].headers)
                    cells += 1
                    expected = EXPECTED[rule.endpoint, method](username, case) if allowed else 404
                    assert r.status_code == expected, (username, url, method, r.status_code)
                    if not allowed:
                        for secret in (case.resident_name, case.resident_phone, case.resident_address,
                                       case.title):
                            assert secret not in r.get_data(as_text=True)
        auth.logout()
    assert cells >= len(USERS) * len(county) * 4


def test_attachments_answer_by_the_scope_of_their_case(app, client, auth, api, county):
    """Every file route × every user × every relation: 200 in the case's scope, else 404."""
    from tests.test_attachments import photo
    uploads = {}
    for case in county.values():
        uploader = next(u for u in USERS if attaches(u, case))
        r = api(uploader).client.post(f"/api/v1/cases/{case.id}/attachments", headers=api(uploader).headers,
                                      data={"file": (io.BytesIO(photo()), "p.jpg"), "stage": "before"},
                                      content_type="multipart/form-data")
        assert r.status_code == 201, r.json
        uploads[case.id] = r.json["id"]
    rules = [r for r in app.url_map.iter_rules() if MATRIX[r.endpoint] == ATTACHMENT]
    assert len(rules) == 4
    cells = 0
    for username in USERS:
        token = api(username)
        auth.login(username)
        for case in county.values():
            for rule in rules:
                url = build(app, rule.endpoint, attachment_id=uploads[case.id])
                if rule.rule.startswith("/api/"):
                    r = token.client.get(url, headers=token.headers)
                else:
                    r = client.get(url)
                cells += 1
                assert r.status_code == (200 if may_see(username, case) else 404), (username, url)
        auth.logout()
    assert cells == len(USERS) * len(county) * len(rules)


def test_lists_and_searches_hold_no_foreign_row(app, client, auth, api, county):
    for username in USERS:
        expected = {c.id for c in county.values() if may_see(username, c)}
        client_ = api(username)
        for query in ("", "?q=村道", "?overdue=false", "?kind=individual"):
            got = {c["id"] for c in client_.get(f"/cases{query}").json["cases"]}
            assert got == expected, (username, query)
        auth.login(username)
        page = client.get("/cases").get_data(as_text=True)
        for case in county.values():
            shown = f'href="/cases/{case.id}"' in page
            assert shown == may_see(username, case), (username, case.id)
        auth.logout()


def test_anonymous_and_admin_only_routes(app, client, auth):
    for rule in app.url_map.iter_rules():
        kind = MATRIX[rule.endpoint]
        if "GET" not in rule.methods or rule.arguments:
            continue
        r = client.get(build(app, rule.endpoint))
        if kind in (USER, CASE, ADMIN) or isinstance(kind, tuple):
            assert r.status_code == 302 and "/login" in r.headers["Location"], rule.endpoint
        elif kind in (API_USER, API_CASE):
            assert r.status_code == 401, rule.endpoint
        else:
            assert r.status_code == 200, rule.endpoint


# An empty form posted to an admin page: a create form complains (422), a switch or reset
# redirects; a webhook that does not exist is 404 (the world has none).
ADMIN_POSTS = {"admin.users": 422, "admin.units": 422, "admin.departments": 422,
               "admin.categories": 422, "webhooks.index": 422, "webhooks.active": 404,
               "webhooks.retry": 404}


def test_admin_and_unit_pages_refuse_everyone_else(app, client, auth, world):
    unit_kinds = {u: unit and UNITS[unit][1] for u, (_, unit) in USERS.items()}
    checked = 0
    for username in USERS:
        auth.login(username)
        for rule in app.url_map.iter_rules():
            kind = MATRIX[rule.endpoint]
            if kind != ADMIN and not isinstance(kind, tuple):
                continue
            url = build(app, rule.endpoint, **{a: 1 for a in rule.arguments})
            allowed = (username == "admin" if kind == ADMIN else USERS[username][0] in kind[1]
                       if kind[0] == "roles" else unit_kinds[username] == kind[1])
            for method in sorted(set(rule.methods) & {"GET", "POST"}):
                r = client.open(url, method=method, data={})
                checked += 1
                if allowed:
                    expected = 200 if method == "GET" else ADMIN_POSTS.get(rule.endpoint, 302)
                    assert r.status_code == expected, (username, url, method, r.status_code)
                else:
                    assert r.status_code == 403, (username, url, method, r.status_code)
                    assert "secret" not in r.get_data(as_text=True)
        auth.logout()
    assert checked >= 100


def test_target_and_shared_problem_routes_answer_by_scope(app, client, auth, api, world):
    """Objects other than cases that carry people's data: targets and shared problems."""
    from casetrack.services.casework.shared import link_cases
    from casetrack.services.fieldwork.targets import create_target
    target = create_target(world.users["group1"], kind="农户", name="钱七户", address="王家组9号",
                           village="王家村", group="G1")
    parent = link_cases(world.users["team1"], "王家村道路共性问题",
                        [world.file("group1", kind="shared").id, world.file("group2", kind="shared").id])
    db.session.commit()
    sees_target = {"group1": 200, "member1": 200, "team1": 200, "county": 200, "leader": 200}
    # a member and a leader read targets, managers edit them
    edits_target = {**sees_target, "member1": 403, "leader": 403}
    sees_parent = {u: 200 for u in USERS if may_see(u, parent)}   # a parent case is scoped as a case
    routes = [("GET", f"/targets/{target.id}", False, sees_target, "钱七户"),
              ("GET", f"/targets/{target.id}/edit", False, edits_target, "钱七户"),
              ("GET", f"/targets/{target.id}", True, sees_target, "钱七户"),
              ("GET", f"/shared-problems/{parent.id}", True, sees_parent, "张三")]
    cells = 0
    for username in USERS:
        auth.login(username)
        token = api(username)
        for method, url, is_api, allowed_users, secret in routes:
            r = token.client.open(f"/api/v1{url}", method=method, headers=token.headers) if is_api \
                else client.open(url, method=method)
            cells += 1
            assert r.status_code == allowed_users.get(username, 404), (username, url, r.status_code)
            if username not in allowed_users:
                assert secret not in r.get_data(as_text=True), (username, url)
        auth.logout()
    assert cells == len(USERS) * len(routes)



def test_a_deactivated_user_sees_no_case_by_any_door(app, client, auth, api, world, county):
    """A team leader switched off by the administrator: the scoped query itself gives nothing
    (so a door that forgets the login checks still leaks nothing), the page sends to the
    login, the API and Open311 refuse the token."""
    from casetrack.services.organisation.accounts import set_active
    from casetrack.services.casework.cases import get_case, scoped_cases
    from casetrack.services.common.errors import NotFound
    case, team1 = county["G1"], world.users["team1"]
    token = api("team1")
    auth.login("team1")
    assert client.get(f"/cases/{case.id}").status_code == 200
    set_active(team1, False)
    db.session.commit()
    assert db.session.scalars(scoped_cases(team1)).all() == []
    with pytest.raises(NotFound):
        get_case(team1, case.id)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert token.get(f"/cases/{case.id}").status_code == 401
    assert token.get("/cases").status_code == 401
    key = token.headers["Authorization"].split()[1]
    assert client.get(f"/open311/v2/requests/{case.id}.json?api_key={key}").status_code == 401


def test_an_administrator_attached_to_a_unit_still_sees_no_case(app, client, auth, api, world, county):
    """An administrator manages accounts and units, not cases, even one placed in the county
    office's unit: the scoped query gives nothing, the case page and the API answer 404."""
    from casetrack.services.organisation.accounts import create_user
    from casetrack.services.casework.cases import scoped_cases
    admin = world.users["office_admin"] = create_user("office_admin", "secret", "admin", "C", name="办公室管理员")
    db.session.commit()
    case = county["G1"]
    assert db.session.scalars(scoped_cases(admin)).all() == []
    auth.login("office_admin")
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert api("office_admin").get(f"/cases/{case.id}").status_code == 404


@pytest.fixture
def paired_county(app, world, api, tmp_path):
    """Rectification problems at three sites: 解放社区 (D1's) and 城东社区 (D1's) in county C, and
    a 解放社区 of county C12 (D13's); D2 is paired with C's 解放社区 only."""
    from casetrack.services.organisation import org
    from tests.factories import add_rectification, create_user
    from tests.test_rectification import b64_photo
    app.config.update(ATTACHMENTS="folder", ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    sites = add_rectification(world)
    org.create_unit("I12", "南湖县督查组", "inspection", "C12")
    world.users["inspector12"] = create_user("inspector12", "secret", "inspector", "I12", name="inspector12")
    far = Target(kind="back_alley", name="南湖解放巷", address="解放巷", village="解放社区", campaign="rectification",
                 group_id=world.units["D13"].id)
    db.session.add(far)
    db.session.commit()
    assert api("county").client.put("/api/v1/campaigns/rectification/pairs", headers=api("county").headers,
                                     json={"community": "解放社区", "units": ["D2"]}).status_code == 200

    def file(who, site):
        r = api(who).post("/cases", json={"campaign": "rectification", "title": "背街小巷垃圾堆放",
                                          "category": "sanitation", "kind": "individual", "target": site,
                                          "photos": [b64_photo()]})
        assert r.status_code == 201, r.get_json()
        return db.session.get(Case, r.get_json()["id"])
    return {"alley": file("inspector1", sites["alley"]), "market": file("inspector1", sites["market"]),
            "far": file("inspector12", far.id)}


def test_a_paired_unit_reads_its_communitys_problems_and_moves_none(app, client, auth, api, paired_county):
    """包抓单位: D2 reads the problems at the sites of 解放社区 (not those of C12's 解放社区, nor
    of 城东社区) by every door, and may neither act on them nor report their progress."""
    assert paired_with("D2", paired_county["alley"]) and not paired_with("D2", paired_county["far"])
    for username in USERS:
        token = api(username)
        expected = {c.id for c in paired_county.values() if may_see(username, c)}
        listed = {c["id"] for c in token.get("/cases?campaign=rectification").json["cases"]}
        assert listed == expected, username
        auth.login(username)
        for case in paired_county.values():
            status = 200 if case.id in expected else 404
            assert client.get(f"/cases/{case.id}").status_code == status, (username, case.id)
            assert token.get(f"/cases/{case.id}").status_code == status, (username, case.id)
        auth.logout()
    alley = paired_county["alley"]
    dept2 = api("dept2")
    page = (auth.login("dept2"), client.get(f"/cases/{alley.id}").get_data(as_text=True))[1]
    assert "背街小巷垃圾堆放" in page
    r = dept2.post(f"/cases/{alley.id}/transitions", json={"trigger": workflow_of(alley).transitions[0].trigger,
                                                            "version": alley.version})
    assert r.status_code == 403
    assert dept2.post(f"/cases/{alley.id}/progress", json={"text": "已派人清理"}).status_code == 403
    assert api("dept1").post(f"/cases/{alley.id}/progress", json={"text": "已派人清理"}).status_code == 201
