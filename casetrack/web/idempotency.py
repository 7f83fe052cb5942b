"""Idempotency-Key on the API's creates: a client that sends a request again (a phone whose
connection dropped before the answer) gets the first answer, and nothing is created twice."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import delete, select
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
    if first is not None:
        return _again(first, digest)
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.user_id == user_id,
                                                       IdempotentRequest.created_at < now() - KEPT))
    row = IdempotentRequest(user_id=user_id, key=key, endpoint=endpoint, body_hash=digest, status=0,
                            response="", created_at=now())
    db.session.add(row)
    try:
        # PostgreSQL: a second request with the key waits here on the unique index until the
        # first commits, then fails, and answers what the first did.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        first = _first(user_id, key)
        if first is None:
            raise
        return _again(first, digest)
    payload, status, headers = create()
    row.status, row.response = status, json.dumps(payload, ensure_ascii=False)
    row.location = headers.get("Location", "")
    db.session.commit()
    return jsonify(payload), status, headers


def _first(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalars(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key,
        IdempotentRequest.created_at >= now() - KEPT)).first()


def _again(first: IdempotentRequest, digest: str) -> Response:
    if first.body_hash != digest:
        raise ValidationFailed({HEADER: _("This key was used for another request; use a new key for "
                                          "each new request.")})
    response = Response(first.response, first.status, mimetype="application/json")
    if first.location:
        response.headers["Location"] = first.location
    response.headers["Idempotent-Replayed"] = "true"
    db.session.rollback()  # ends the read (and on SQLite lets the write lock go)
    return response
