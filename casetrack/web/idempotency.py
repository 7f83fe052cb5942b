"""Idempotency-Key on the API's creates: a client that sends a request again (a phone whose
connection dropped before the answer) gets the first answer, and nothing is created twice."""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from casetrack.canonical import canonical_json
from casetrack.extensions import db
from casetrack.models import IdempotentRequest
from casetrack.services.workdays.calendar import now
from casetrack.services.common.errors import ValidationFailed

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
MAX_KEY = 200
PARAMETER = {"name": HEADER, "in": "header", "required": False, "schema": {"type": "string", "maxLength": MAX_KEY},
             "description": "a key of your own (a UUID) per create: the same key with the same body within 24 "
                            "hours answers the first answer again and creates nothing; with another body: 422"}

Answer = tuple[dict[str, Any], int, dict[str, str]]
KEYS = IdempotentRequest.__table__


def _digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise ValidationFailed({HEADER: _("A key of 1 to %(n)d printable ASCII characters, please "
                                          "(a UUID is best).", n=MAX_KEY)})
    return key


def once(endpoint: str, data: Any, create: Callable[[], Answer]):
    """Run `create` (which flushes, never commits) and commit; with an Idempotency-Key, keep its
    answer with the key, or answer again what the key's first request got."""
    key = _key()
    if key is None:
        payload, status, headers = create()
        db.session.commit()
        return jsonify(payload), status, headers
    user_id, digest = g.api_user.id, _digest([endpoint, data])
    # On SQLite this read already holds the write lock (a write request begins IMMEDIATE), so a
    # second request with the key waits here and then finds the first one's answer.
    first = _first(user_id, key)
    if first is not None and first.created_at >= now() - KEPT:
        return _again(first, digest)
    if first is not None:  # the key's day is over: it may be used again
        db.session.execute(delete(KEYS).where(KEYS.c.id == first.id))
    _purge_now_and_then()
    payload, status, headers = create()
    # The key's row is written once, with its answer, after the work: one INSERT, through Core
    # (an ORM flush would run every session hook of the app once more). On PostgreSQL a second
    # request with the key, sent at the same moment, waits here on the unique index until the
    # first commits, then fails, rolls its own work back and answers what the first did.
    try:
        db.session.execute(insert(KEYS).values(
            user_id=user_id, key=key, endpoint=endpoint, body_hash=digest, status=status,
            response=json.dumps(payload, ensure_ascii=False), location=headers.get("Location", ""),
            created_at=now()))
    except IntegrityError:
        db.session.rollback()
        first = _first(user_id, key)
        if first is None:
            raise
        return _again(first, digest)
    db.session.commit()
    return jsonify(payload), status, headers


_purged = [0.0]  # when this process last removed the keys past their day (time.monotonic())
PURGE_EVERY = 600  # seconds


def _purge_now_and_then() -> None:
    """Remove every user's keys past their day, at most every PURGE_EVERY seconds per process:
    not a DELETE with every create (an expired key still in the table is treated as new)."""
    if time.monotonic() - _purged[0] < PURGE_EVERY:
        return
    _purged[0] = time.monotonic()
    db.session.execute(delete(KEYS).where(KEYS.c.created_at < now() - KEPT))


def _first(user_id: int, key: str) -> Row | None:
    return db.session.execute(select(KEYS.c.id, KEYS.c.created_at, KEYS.c.body_hash, KEYS.c.status,
                                     KEYS.c.response, KEYS.c.location)
                              .where(KEYS.c.user_id == user_id, KEYS.c.key == key)).first()


def _again(first: Row, digest: str) -> Response:
    if first.body_hash != digest:
        raise ValidationFailed({HEADER: _("This key was used for another request; use a new key for "
                                          "each new request.")})
    response = Response(first.response, first.status, mimetype="application/json")
    if first.location:
        response.headers["Location"] = first.location
    response.headers["Idempotent-Replayed"] = "true"
    db.session.rollback()  # ends the read (and on SQLite lets the write lock go)
    return response
