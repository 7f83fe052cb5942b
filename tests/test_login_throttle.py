"""Failed logins are throttled per account and address, counted in the database, never for good."""
from datetime import timedelta

from casetrack.services import calendar


def attempt(client, password, addr="10.0.0.1", username="group1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_five_wrong_passwords_block_that_account_from_that_address(client, world):
    for _ in range(5):
        assert attempt(client, "wrong").status_code == 200
    r = attempt(client, "secret")
    assert r.status_code == 429 and client.get("/").status_code == 302
    # the cadre at another address still gets in
    assert attempt(client, "secret", addr="10.0.0.2").status_code == 302


def test_the_block_expires(client, world):
    for _ in range(5):
        attempt(client, "wrong")
    with calendar.at(calendar.now() + timedelta(minutes=16)):
        assert attempt(client, "secret").status_code == 302


def test_spraying_many_accounts_from_one_address_is_blocked(client, world):
    names = ["group1", "group2", "group3", "team1", "team2", "dept1", "dept2", "county", "admin",
             "member1"]
    for i in range(30):
        attempt(client, "wrong", addr="10.9.9.9", username=names[i % len(names)])
    assert attempt(client, "secret", addr="10.9.9.9", username="group2").status_code == 429


def test_api_token_endpoint_is_throttled_too(client, world):
    for _ in range(5):
        r = client.post("/api/v1/tokens", json={"username": "dept1", "password": "x"})
        assert r.status_code == 401
    r = client.post("/api/v1/tokens", json={"username": "dept1", "password": "secret"})
    assert r.status_code == 429 and r.json["error"] == "too_many_attempts"


def test_a_success_clears_the_pair_count(client, world):
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, "secret").status_code == 302
    client.post("/logout")
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, "secret").status_code == 302


def test_password_is_argon2id_and_rehashed_when_parameters_change(app, client, world):
    from argon2 import PasswordHasher

    from casetrack.extensions import db
    old = world.users["group1"].password_hash
    assert old.startswith("$argon2id$") and "m=8," in old
    app.extensions["casetrack.hasher"] = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert attempt(client, "secret").status_code == 302
    db.session.refresh(world.users["group1"])
    new = world.users["group1"].password_hash
    assert new != old and "m=16,t=2" in new
