"""Failed-login throttling per account, per address and per pair, with locks that always expire.

Each key's count leaks away at its allowed rate (LIMITS: so many failures per WINDOW), so an
attacker who stays under that rate never locks anyone out, and one above it locks out only
browsers the account has not logged in from. A successful login leaves a signed "known device"
cookie for that account: with it the account's, the address's and the pair's locks do not apply,
only a lock of that device's own (OWASP's "device cookies", as in django-axes and Keycloak).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select

from casetrack.extensions import db
from casetrack.models import LoginFailure, User
from casetrack.services.workdays.calendar import now

WINDOW = timedelta(minutes=15)
# key kind -> (failures allowed in the window, how long the key is then blocked).
# The pair lock stops guessing at one account from one place; the address lock stops spraying
# many accounts; the account-wide lock is short, so an attacker elsewhere cannot keep a cadre out;
# the device lock stops guessing from a browser the account once logged in from.
LIMITS = {"pair": (5, timedelta(minutes=15)), "ip": (30, timedelta(minutes=15)),
          "user": (50, timedelta(minutes=1)), "device": (5, timedelta(minutes=15))}

DEVICE_COOKIE = "casetrack_device"
DEVICE_LIFETIME = timedelta(days=180)
DEVICES_PER_BROWSER = 10  # accounts one shared office computer remembers


def _keys(username: str, address: str, device: str | None) -> dict[str, str]:
    if device:
        return {"device": f"device:{device}"}
    username = (username or "").strip().lower()[:60]
    return {"pair": f"user:{username}|ip:{address}", "ip": f"ip:{address}", "user": f"user:{username}"}


def blocked(username: str, address: str, device: str | None = None) -> bool:
    """Whether a login attempt must be refused now, before the password is checked."""
    keys = list(_keys(username, address, device).values())
    rows = db.session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys)))
    moment = now()
    return any(r.blocked_until and r.blocked_until > moment for r in rows)


def record_failure(username: str, address: str, device: str | None = None) -> None:
    """Count a failure on each key; `window_start` is the moment the count last leaked up to."""
    moment = now()
    for kind, key in _keys(username, address, device).items():
        allowed, lock = LIMITS[kind]
        leak = WINDOW / allowed  # one failure forgotten every `leak`
        row = db.session.get(LoginFailure, key)
        if row is None:
            row = LoginFailure(key=key, count=0, window_start=moment)
            db.session.add(row)
        forgotten = (moment - row.window_start) // leak
        if forgotten >= row.count:
            row.count, row.window_start = 0, moment
        elif forgotten > 0:
            row.count -= forgotten
            row.window_start += forgotten * leak
        row.count += 1
        if row.count >= allowed:
            row.blocked_until = moment + lock
    db.session.flush()


def record_success(username: str, address: str, device: str | None = None) -> None:
    keys = _keys(username, address, device)
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == (keys.get("device") or keys["pair"])))
    db.session.flush()


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="casetrack.known-device")


def _fingerprint(user: User) -> str:
    # A new password (a reset) makes the account's known devices unknown again.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), user.password_hash.encode(),
                    hashlib.sha256).hexdigest()[:16]


def _entries(cookie: str | None) -> list[list]:
    """[user id, device id, password fingerprint, issued (epoch seconds)], newest first."""
    if not cookie:
        return []
    try:
        entries = _signer().loads(cookie)
    except BadSignature:
        return []
    oldest = (now() - DEVICE_LIFETIME).timestamp()
    return [e for e in entries if isinstance(e, list) and len(e) == 4 and e[3] > oldest] \
        if isinstance(entries, list) else []


def known_device(cookie: str | None, user: User | None) -> str | None:
    """The device id this browser holds for the user, if it logged in as them before."""
    if user is None:
        return None
    return next((e[1] for e in _entries(cookie)
                 if e[0] == user.id and e[2] == _fingerprint(user)), None)


def remember_device(cookie: str | None, user: User) -> str:
    """The browser's new cookie value after a successful login as `user`."""
    others = [e for e in _entries(cookie) if e[0] != user.id]
    entry = [user.id, secrets.token_urlsafe(12), _fingerprint(user), int(now().timestamp())]
    return _signer().dumps([entry, *others][:DEVICES_PER_BROWSER])
