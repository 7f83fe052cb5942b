"""Failed logins are throttled per account and address, counted in the database, never for good."""
from datetime import timedelta

from casetrack.services.workdays import calendar


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


SPRAYED = ["group2", "group3", "team1", "team2", "dept1", "dept2", "county", "admin", "member1"]


def spray(app, addr, times=30):
    """Wrong passwords at many accounts from one address, each from a fresh browser."""
    for i in range(times):
        attempt(app.test_client(), "wrong", addr=addr, username=SPRAYED[i % len(SPRAYED)])


def test_a_browser_that_logged_in_before_gets_past_a_lock_others_set(app, client, world):
    """One person spraying from the office address must not lock out the office's cadres."""
    assert attempt(client, "secret", addr="10.9.9.9").status_code == 302
    client.post("/logout")
    spray(app, "10.9.9.9")
    for _ in range(50):  # and the account's own lock, set from everywhere
        attempt(app.test_client(), "wrong", addr="10.7.7.7")
    stranger = app.test_client()
    assert attempt(stranger, "secret", addr="10.9.9.9").status_code == 429
    assert attempt(client, "secret", addr="10.9.9.9").status_code == 302
    client.post("/logout")
    # the cookie is for group1 only, and only as this site signed it
    assert attempt(client, "secret", addr="10.9.9.9", username="group2").status_code == 429
    stranger.set_cookie("casetrack_device", client.get_cookie("casetrack_device", path="/login").value + "x",
                        path="/login")
    assert attempt(stranger, "secret", addr="10.9.9.9").status_code == 429


def test_a_known_browser_that_guesses_is_locked_itself(client, world):
    assert attempt(client, "secret").status_code == 302
    client.post("/logout")
    for _ in range(5):
        assert attempt(client, "wrong").status_code == 200
    assert attempt(client, "secret").status_code == 429


def test_a_password_reset_forgets_the_known_browsers(app, client, world):
    from casetrack.extensions import db
    from casetrack.services.organisation.accounts import reset_password
    assert attempt(client, "secret", addr="10.9.9.9").status_code == 302
    client.post("/logout")
    reset_password(world.users["group1"], "new secret")
    db.session.commit()
    spray(app, "10.9.9.9")
    assert attempt(client, "new secret", addr="10.9.9.9").status_code == 429


def test_an_attacker_failing_once_a_minute_cannot_keep_the_account_locked(app, world):
    """50 quick failures lock the account for a minute; then one a minute from new addresses
    must not re-arm it: the real user, from a browser never used before, gets in each minute."""
    start = calendar.now()
    with calendar.at(start):
        for i in range(50):
            attempt(app.test_client(), "wrong", addr=f"10.1.0.{i}")
        assert attempt(app.test_client(), "secret", addr="10.0.0.1").status_code == 429
    for minute in range(1, 21):
        with calendar.at(start + timedelta(minutes=minute, seconds=1)):
            assert attempt(app.test_client(), "wrong", addr=f"10.2.0.{minute}").status_code == 200
        with calendar.at(start + timedelta(minutes=minute, seconds=2)):
            user = app.test_client()
            assert attempt(user, "secret", addr="10.0.0.1").status_code == 302, minute


def test_an_attacker_faster_than_the_limit_is_still_held_back(app, world):
    """Ten guesses a minute for 20 minutes, each from a new address: the account's limit
    (50, then one more every 18 seconds) caps the guesses the server checks."""
    start, checked = calendar.now(), 0
    for second in range(0, 20 * 60, 6):
        with calendar.at(start + timedelta(seconds=second)):
            r = attempt(app.test_client(), "wrong", addr=f"10.3.{second // 250}.{second % 250}")
        checked += r.status_code == 200
    assert checked <= 50 + 20 * 60 // 18
