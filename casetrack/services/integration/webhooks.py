"""Webhooks: every case event is put in an outbox in its own transaction, and posted later.

Every use case that writes a case event queues its deliveries itself, in its transaction, so the
event and its deliveries commit or roll back together: a filing and a transition through
`follow_up` (`queue_deliveries`), an event that does not move the case through
`notices.log_event` and the others with `queue_events`, the sweep's bulk flags with
`queue_written`. No session hook does it for them. The
`deliver-webhooks` command (cron) claims, posts and records one due delivery at a time, outside
any request: a slow or dead receiver never holds up a transition. A failure is retried with
exponential back-off until MAX_ATTEMPTS, then marked failed (shown on the admin page, and retried
by hand). Receivers inside the deployment are refused (`outbound`), at registration and again
at each delivery.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casetrack.canonical import canonical_json
from casetrack.db.bulk import insert_many
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Unit, User, Webhook, WebhookDelivery
from casetrack.models.cases import EVENT_COLUMNS
from casetrack.services.integration import outbound, outbox
from casetrack.services.workdays.calendar import now
from casetrack.services.common.errors import NotFound, ValidationFailed

SIGNATURE = "X-Casetrack-Signature"


def sign(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the exact body, hex: what a receiver recomputes with the shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- administration ------------------------------------------------------------------------

def allowed_networks() -> tuple[outbound.Network, ...]:
    return outbound.networks(current_app.config["WEBHOOK_ALLOWED_NETWORKS"])


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 500
            and url.isprintable() and not any(c.isspace() for c in url))


def register_webhook(url: str, secret: str, description: str = "") -> Webhook:
    url, secret = (url or "").strip(), (secret or "").strip()
    errors = {}
    if not _http_url(url):
        errors["url"] = _("An http:// or https:// address, please.")
    else:
        try:
            outbound.check_url(url, allowed_networks())
        except outbound.Refused as exc:
            errors["url"] = _("This address leads inside the deployment (%(address)s: loopback, private, "
                              "link-local or reserved); a receiver must be reachable from the internet. "
                              "The operator can allow a network with WEBHOOK_ALLOWED_NETWORKS.",
                              address=str(exc.address))
        except (OSError, UnicodeError):
            errors["url"] = _("The host name %(host)s cannot be found.", host=urlsplit(url).hostname)
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


def recent_deliveries(limit: int = 100, before: int | None = None) -> tuple[list[WebhookDelivery], int | None]:
    """One keyset page of deliveries, newest first, before the delivery `before`; the next cursor."""
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit + 1)
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    rows = list(db.session.scalars(stmt))
    return (rows[:limit], rows[limit - 1].id) if len(rows) > limit else (rows, None)


# -- the outbox ----------------------------------------------------------------------------

def event_body(ev: CaseEvent, session: Session) -> dict[str, Any]:
    case = session.get(Case, ev.case_id)
    actor = session.get(User, ev.actor_id) if ev.actor_id else None
    unit = lambda ident: session.get(Unit, ident).code if ident else None  # noqa: E731
    return {
        "id": ev.id,  # the same in every delivery of the event: receivers deduplicate on it
        "event": "case.filed" if ev.trigger == "file" else "case.transition",
        "at": ev.at.isoformat(), "trigger": ev.trigger, "actor": actor.username if actor else None,
        "from_state": ev.from_state, "to_state": ev.to_state,
        "from_unit": unit(ev.from_unit_id), "to_unit": unit(ev.to_unit_id), "data": ev.data or {},
        "case": {"id": case.id, "title": case.title, "category": case.category.code, "kind": case.kind,
                 "state": case.state, "unit": case.unit.code, "group": case.group.code,
                 "deadline": case.deadline.isoformat() if case.deadline else None,
                 "version": case.version},
    }


ACTIVE_HOOKS = select(Webhook.id).where(Webhook.active.is_(True))


def queue_events(events: list[CaseEvent], hooks: tuple[int, ...] | None = None) -> None:
    """One delivery per active webhook for each of these events added by the ORM (flushed here
    if they have no id yet: the body carries it)."""
    session = db.session()
    if any(ev.id is None for ev in events):
        session.flush()
    queue_deliveries(session, events, hooks)


def queue_written(session: Session, rows: list[tuple]) -> None:
    """Deliveries for events written in bulk, outside the unit of work (the sweep's flags, rows
    in `EVENT_COLUMNS` order). Their cases are loaded
    by one SELECT first, so that each body finds its case without a query of its own."""
    if not rows:
        return
    hooks = list(session.scalars(ACTIVE_HOOKS))
    if not hooks:
        return
    case_ids = [row[0] for row in rows]
    session.scalars(select(Case).where(Case.id.in_(case_ids))).all()
    # each row is its case's newest event, written in this transaction under the case's lock
    ids = dict(session.execute(select(CaseEvent.case_id, func.max(CaseEvent.id)).where(
        CaseEvent.case_id.in_(case_ids)).group_by(CaseEvent.case_id)).all())
    queue_deliveries(session, [CaseEvent(id=ids[row[0]], **dict(zip(EVENT_COLUMNS, row))) for row in rows],
                     tuple(hooks))


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


def claim_next() -> Outgoing | None:
    """The first due delivery of an active webhook, claimed under a lease (`outbox.claim`)."""
    timeout = current_app.config["WEBHOOK_TIMEOUT"]
    # connect, send and answer may each take the timeout; name resolution has its own
    row = outbox.claim(WebhookDelivery, timedelta(seconds=4 * timeout + 30), Webhook.active.is_(True),
                       join=WebhookDelivery.webhook)
    return None if row is None else Outgoing(row.id, row.webhook.url, row.webhook.secret, row.event, row.body)


def send(out: Outgoing, timeout: float) -> tuple[int | None, str, bool]:
    """Post once, touching no database: (HTTP status or None, error text or '', whether to give
    up now). A receiver inside the deployment is not contacted: no retry can make it right."""
    body = out.body.encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "casetrack-webhooks/1",
               SIGNATURE: sign(out.secret, body), "X-Casetrack-Event": out.event,
               "X-Casetrack-Delivery": str(out.id)}
    try:
        status = outbound.post(out.url, body, headers, timeout, allowed_networks())
    except outbound.Refused as exc:
        return None, f"not sent: {exc}", True
    except socket.gaierror as exc:
        return None, f"{urlsplit(out.url).hostname}: {exc.strerror or exc}"[:500], False
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, (str(exc) or type(exc).__name__)[:500], False
    if 300 <= status < 400:
        return status, f"HTTP {status} (redirects are not followed)", False
    return status, "" if 200 <= status < 300 else f"HTTP {status}", False


def record(delivery_id: int, status: int | None, error: str, give_up: bool = False) -> WebhookDelivery:
    """How an attempt went: delivered, or retried after a back-off, or failed for good (flushes)."""
    row = db.session.get(WebhookDelivery, delivery_id)
    row.attempts += 1
    row.last_status = status
    if status is not None and 200 <= status < 300:
        row.state, row.delivered_at, row.last_error = "delivered", now(), ""
    else:
        outbox.retry_or_fail(row, error or f"HTTP {status}", give_up)
    db.session.flush()
    return row
