"""API tokens on the settings page: shown once, stored hashed, revoked at once."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import ApiToken
from casetrack.services.workdays import calendar


def make_token(client, name="12345 hotline") -> str:
    r = client.post("/settings/tokens", data={"name": name})
    assert r.status_code == 201
    return re.search(r"<code>([\w-]+)</code>", r.get_data(as_text=True)).group(1)


def test_a_token_is_shown_once_stored_hashed_and_revoked_at_once(client, auth, world):
    auth.login("group1")
    token = make_token(client)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).json["username"] == "group1"
    page = client.get("/settings/tokens").get_data(as_text=True)
    assert token not in page and "12345 hotline" in page
    stored = db.session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.name) and len(stored.token_hash) == 64

    r = client.post(f"/settings/tokens/{stored.id}/revoke")
    assert r.status_code == 302
    # the very next calls are refused, by both APIs
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert client.get(f"/open311/v2/requests.json?api_key={token}").status_code == 401
    assert "data-token" in client.get("/settings/tokens").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).revoked_at is not None


def test_nobody_lists_or_revokes_another_users_token(client, auth, world):
    auth.login("group1")
    token = make_token(client, "mine")
    row_id = db.session.scalars(select(ApiToken.id)).one()
    auth.logout()
    auth.login("team1")
    assert ">mine<" not in client.get("/settings/tokens").get_data(as_text=True)
    assert client.post(f"/settings/tokens/{row_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_settings_page_needs_a_login(client):
    assert "/login" in client.get("/settings/tokens").headers["Location"]


def token_for(client, username="group1", **extra) -> str:
    r = client.post("/api/v1/tokens", json={"username": username, "password": "secret", **extra})
    assert r.status_code == 201, r.json
    return r.json["token"]


def answers(client, token) -> tuple[int, int]:
    return (client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code,
            client.get(f"/open311/v2/requests.json?api_key={token}").status_code)


def test_a_password_reset_revokes_the_users_tokens_and_says_so(app, client, auth, world):
    by_api = token_for(app.test_client())
    auth.login("group1")
    by_page = make_token(client)
    auth.logout()
    auth.login("admin")
    client.post("/lang/zh_Hans")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "吊销其全部 API 令牌" in page
    r = client.post(f"/admin/users/{world.users['group1'].id}/password", data={"password": "new secret"},
                    follow_redirects=True)
    assert "其 API 令牌均已吊销" in r.get_data(as_text=True)
    assert answers(client, by_api) == answers(client, by_page) == (401, 401)
    r = app.test_client().post("/api/v1/tokens", json={"username": "group1", "password": "new secret"})
    assert answers(client, r.json["token"]) == (200, 200)


def test_a_deactivated_users_tokens_stay_revoked_when_reactivated(client, auth, world):
    token = token_for(client)
    auth.login("admin")
    user_id = world.users["group1"].id
    client.post(f"/admin/users/{user_id}/active", data={"active": "0"})
    assert answers(client, token) == (401, 401)
    client.post(f"/admin/users/{user_id}/active", data={"active": "1"})
    assert answers(client, token) == (401, 401)


def test_a_token_expires_when_asked_to(app, client, world):
    r = client.post("/api/v1/tokens", json={"username": "group1", "password": "secret", "name": "hotline",
                                            "expires_in_days": 30})
    assert r.status_code == 201 and r.json["name"] == "hotline"
    token, made = r.json["token"], datetime.fromisoformat(r.json["created_at"])
    assert datetime.fromisoformat(r.json["expires_at"]) == made + timedelta(days=30)
    with calendar.at(made + timedelta(days=29)):
        assert answers(client, token) == (200, 200)
    with calendar.at(made + timedelta(days=30, seconds=1)):
        assert answers(client, token) == (401, 401)
    for bad in (0, 3651, "30", 1.5, True):
        r = client.post("/api/v1/tokens", json={"username": "group1", "password": "secret",
                                                "expires_in_days": bad})
        assert r.status_code == 422 and "expires_in_days" in r.json["errors"], bad


def test_the_settings_page_makes_expiring_tokens_and_shows_last_use(client, auth, world):
    auth.login("group1")
    r = client.post("/settings/tokens", data={"name": "hotline", "expires_in_days": "90"})
    token = re.search(r"<code>([\w-]+)</code>", r.get_data(as_text=True)).group(1)
    row = db.session.scalars(select(ApiToken)).one()
    assert row.expires_at - row.created_at == timedelta(days=90) and row.last_used_at is None
    page = client.get("/settings/tokens").get_data(as_text=True)
    assert "从未使用" in page
    start = calendar.now()
    with calendar.at(start):
        answers(client, token)
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == start
    # not written on every request: at most once a minute
    with calendar.at(start + timedelta(seconds=30)):
        answers(client, token)
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == start
    with calendar.at(start + timedelta(minutes=2)):
        answers(client, token)
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == start + timedelta(minutes=2)
    with calendar.at(start + timedelta(days=91)):
        page = client.get("/settings/tokens").get_data(as_text=True)
    assert 'data-state="expired"' in page and "已过期" in page
