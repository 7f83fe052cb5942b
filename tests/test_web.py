"""The minimal pages: log in, see my cases, open one, act through its forms, file a problem."""
import re

from casetrack.extensions import db
from casetrack.models import User
from tests.helpers import FUTURE, case_in


def test_login_required_and_wrong_password(client, auth, world):
    assert client.get("/").status_code == 302
    r = auth.login("group1", "wrong")
    assert r.status_code == 200 and client.get("/").status_code == 302


def test_drive_a_shared_problem_to_closed_through_the_pages(client, auth, world):
    auth.login("member1")
    r = client.post("/cases/new", data={"category": "environment", "kind": "shared",
                                        "title": "砖厂粉尘污染", "description": "晚上尤其严重",
                                        "resident_name": "赵六", "resident_phone": "13700000000",
                                        "resident_address": "东村1号"}, follow_redirects=True)
    assert r.status_code == 200 and "砖厂粉尘污染" in r.text
    case_id = int(re.search(r"#(\d+) 砖厂粉尘污染", r.text).group(1))
    auth.logout()

    def act(username, trigger, **fields):
        auth.login(username)
        page = client.get(f"/cases/{case_id}")
        assert f'data-trigger="{trigger}"' in page.text
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
        r = client.post(f"/cases/{case_id}/{trigger}", data={"version": version, **fields},
                        follow_redirects=True)
        assert r.status_code == 200, r.text
        auth.logout()
        return r

    act("member1", "escalate", reason="本组无力解决")   # a shared problem stays with the group until then
    act("team1", "escalate", reason="需要县里协调")
    act("county", "refer", department="D1", due_date=FUTURE)
    act("dept1", "resolve", resolution="已责令整改", funds="3")
    r = act("county", "verify", outcome="satisfied", note="满意")
    assert 'data-state="closed"' in r.text
    for text in ("需要县里协调", "已责令整改", "满意", "team1", "dept1"):
        assert text in r.text   # the whole timeline is on the case page


def test_form_error_keeps_what_was_typed_and_changes_nothing(client, auth, world):
    case = case_in(world, "county")
    db.session.commit()
    auth.login("county")
    r = client.post(f"/cases/{case.id}/refer", data={"version": case.version, "department": "D1",
                                                      "due_date": "next week"})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text and "D1 住建局" in r.text
    assert re.search(r'<option value="D1" selected', r.text)
    db.session.refresh(case)
    assert case.state == "county"


def test_stale_form_says_so(client, auth, world):
    case = case_in(world, "group")
    db.session.commit()
    auth.login("group1")
    r = client.post(f"/cases/{case.id}/escalate", data={"version": case.version + 5, "reason": "x"})
    assert r.status_code == 409
    assert f'href="/cases/{case.id}" data-reload' in r.text


def test_out_of_scope_case_is_a_friendly_404(client, auth, world):
    case = case_in(world, "group")
    db.session.commit()
    auth.login("group3")
    r = client.get(f"/cases/{case.id}")
    assert r.status_code == 404 and "张三" not in r.text and "Traceback" not in r.text
    assert client.post(f"/cases/{case.id}/escalate", data={"version": 1, "reason": "x"}).status_code == 404


def test_logout_makes_the_old_cookie_useless(client, auth, world, app):
    auth.login("group1")
    cookie = client.get_cookie("session").value
    auth.logout()
    other = app.test_client()
    other.set_cookie("session", cookie)
    assert other.get("/").status_code == 302


def test_deactivated_user_cannot_log_in(client, auth, world):
    user = db.session.get(User, world.users["group2"].id)
    user.active = False
    db.session.commit()
    auth.login("group2")
    assert client.get("/").status_code == 302


def test_the_list_counts_no_further_than_its_limit(client, auth, world, app):
    """A province's millions are "more than" the limit, not counted on every page; a narrower
    filter under the limit is counted exactly."""
    for _ in range(4):
        world.file()
    case_in(world, "team")
    db.session.commit()
    app.config["LIST_COUNT_LIMIT"] = 3
    auth.login("county")
    page = client.get("/cases").text
    assert re.search(r'id="list-total">超过 3</span>', page) and "共 " not in page
    page = client.get("/cases?state=team").text
    assert 'id="list-total">1</span>' in page and "共 1 条" in page
