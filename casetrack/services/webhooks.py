"""Webhooks: every case event is put in an outbox in its own transaction, and posted later.

`record_events` runs after each flush (when a case filed in it has its id): for each new
CaseEvent it inserts one outbox row per active webhook, so the event and its deliveries commit
or roll back together; the writers of events in bulk call `queue_written` themselves. `deliver_due`
(the `deliver-webhooks` command, for cron) posts what is due, outside any request: a slow or
dead receiver never holds up a transition. A failure is retried with exponential back-off
until MAX_ATTEMPTS, then marked failed (shown on the admin page, and retried by hand).
"""
from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from casetrack.canonical import canonical_json
from casetrack.db.bulk import insert_many
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Unit, User, Webhook, WebhookDelivery
from casetrack.models.cases import EVENT_COLUMNS
from casetrack.services.calendar import now
from casetrack.services.errors import NotFound, ValidationFailed

MAX_ATTEMPTS = 8
BACKOFF = timedelta(seconds=30)      # 30 s, 1 min, 2 min, ... doubling
MAX_BACKOFF = timedelta(hours=6)
SIGNATURE = "X-Casetrack-Signature"


def sign(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the exact body, hex: what a receiver recomputes with the shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


# -- administration ------------------------------------------------------------------------

def register_webhook(url: str, secret: str, description: str = "") -> Webhook:
    url, secret = (url or "").strip(), (secret or "").strip()
    errors = {}
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        errors["url"] = _("An http:// or https:// address, please.")
    if len(secret) < 16 or len(secret) > 200:
        errors["secret"] = _("A secret of 16 to 200 characters, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    hook = Webhook(url=url, secret=secret, description=(description or "").strip()[:200])
    db.session.add(hook)
    db.session.flush()
    return hook


def set_active(hook: Webhook, active: bool) -> None:
    hook.active = active
    db.session.flush()


def retry_now(delivery_id: int) -> WebhookDelivery:
    """Put a failed (or waiting) delivery back in line for the next run."""
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFound(_("There is nothing here."))
    if row.state != "delivered":
        row.state, row.next_attempt_at = "pending", now()
        db.session.flush()
    return row


def recent_deliveries(limit: int = 100) -> list[WebhookDelivery]:
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)))


# -- the outbox ----------------------------------------------------------------------------

def event_body(ev: CaseEvent, session: Session) -> dict[str, Any]:
    case = session.get(Case, ev.case_id)
    actor = session.get(User, ev.actor_id) if ev.actor_id else None
    unit = lambda ident: session.get(Unit, ident).code if ident else None  # noqa: E731
    return {
        "event": "case.filed" if ev.trigger == "file" else "case.transition",
        "at": ev.at.isoformat(), "trigger": ev.trigger, "actor": actor.username if actor else None,
        "from_state": ev.from_state, "to_state": ev.to_state,
        "from_unit": unit(ev.from_unit_id), "to_unit": unit(ev.to_unit_id), "data": ev.data or {},
        "case": {"id": case.id, "title": case.title, "category": case.category.code, "kind": case.kind,
                 "state": case.state, "unit": case.unit.code, "group": case.group.code,
                 "deadline": case.deadline.isoformat() if case.deadline else None,
                 "version": case.version},
    }


_WRITTEN = "casetrack.webhooks.events"
ACTIVE_HOOKS = select(Webhook.id).where(Webhook.active.is_(True))


@event.listens_for(Session, "before_flush")
def _note_events(session: Session, _context, _instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, CaseEvent)]
    if new:
        session.info[_WRITTEN] = new


@event.listens_for(Session, "after_flush")
def record_events(session: Session, _context) -> None:
    """Queue one delivery per active webhook for every case event just written (after the
    flush, when the id of a case filed in it is known), in the same transaction."""
    new = session.info.pop(_WRITTEN, None)
    if new:
        queue_deliveries(session, new)


def queue_written(session: Session, rows: list[tuple]) -> None:
    """Deliveries for events written in bulk, outside the unit of work (the sweep's flags, rows
    in `EVENT_COLUMNS` order), which the flush hook above never sees. Their cases are loaded
    by one SELECT first, so that each body finds its case without a query of its own."""
    if not rows:
        return
    hooks = list(session.scalars(ACTIVE_HOOKS))
    if not hooks:
        return
    session.scalars(select(Case).where(Case.id.in_([row[0] for row in rows]))).all()
    queue_deliveries(session, [CaseEvent(**dict(zip(EVENT_COLUMNS, row))) for row in rows], tuple(hooks))


def queue_deliveries(session: Session, events: list[CaseEvent], hooks: tuple[int, ...] | None = None) -> None:
    """One pending delivery per active webhook (`hooks`: their ids, when known) for each of
    these events, by one INSERT."""
    hooks = list(session.scalars(ACTIVE_HOOKS)) if hooks is None else hooks
    if not hooks:
        return
    rows = []
    for ev in events:
        data = event_body(ev, session)
        body = canonical_json(data, default=str)
        rows += [{"webhook_id": hook, "case_id": ev.case_id, "event": data["event"], "body": body,
                  "state": "pending", "attempts": 0, "next_attempt_at": ev.at, "last_status": None,
                  "last_error": "", "created_at": ev.at, "delivered_at": None} for hook in hooks]
    insert_many(WebhookDelivery.__table__, rows)


# -- delivery ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """What one attempt posts, read before the attempt so no transaction stays open during it."""
    id: int
    url: str
    secret: str
    event: str
    body: str


def claim_due(limit: int = 100) -> list[Outgoing]:
    """Due deliveries of active webhooks, each pushed out by a lease so a second runner leaves it alone."""
    moment = now()
    lease = moment + timedelta(seconds=4 * current_app.config["WEBHOOK_TIMEOUT"])
    rows = list(db.session.scalars(select(WebhookDelivery).join(WebhookDelivery.webhook).where(
        Webhook.active.is_(True), WebhookDelivery.state == "pending",
        WebhookDelivery.next_attempt_at <= moment).order_by(WebhookDelivery.id).limit(limit)))
    claimed = []
    for row in rows:
        result = db.session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == row.id, WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= moment).values(next_attempt_at=lease))
        if result.rowcount:
            claimed.append(Outgoing(row.id, row.webhook.url, row.webhook.secret, row.event, row.body))
    return claimed


def send(out: Outgoing, timeout: float) -> tuple[int | None, str]:
    """Post once, touching no database: (HTTP status or None, error text or '')."""
    body = out.body.encode()
    req = urllib.request.Request(out.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "casetrack-webhooks/1",
        SIGNATURE: sign(out.secret, body), "X-Casetrack-Event": out.event,
        "X-Casetrack-Delivery": str(out.id)})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (http/https only)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, (str(getattr(exc, "reason", exc)) or type(exc).__name__)[:500]


def record(delivery_id: int, status: int | None, error: str) -> WebhookDelivery:
    """How an attempt went: delivered, or retried after a back-off, or failed for good (flushes)."""
    row = db.session.get(WebhookDelivery, delivery_id)
    row.attempts += 1
    row.last_status = status
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at, row.last_error = "delivered", now(), ""
    else:
        row.last_error = error or f"HTTP {status}"
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
        else:
            row.next_attempt_at = now() + backoff(row.attempts)
    db.session.flush()
    return row
