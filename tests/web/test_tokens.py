"""API tokens on the settings page: shown once, stored hashed, revoked at once."""
from __future__ import annotations

import re

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import ApiToken


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
    assert "mine" not in client.get("/settings/tokens").get_data(as_text=True)
    assert client.post(f"/settings/tokens/{row_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_settings_page_needs_a_login(client):
    assert "/login" in client.get("/settings/tokens").headers["Location"]
