"""Notifications (an inbox of what needs me) and supervision notes (督办)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app, url_for
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy import case as when
from sqlalchemy.orm import selectinload

from casetrack.db.at_commit import write_at_commit
from casetrack.db.bulk import driver_marks
from casetrack.db.types import shanghai_day
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Notification, SupervisionNote, Unit, User
from casetrack.models.deadlines import NOTICE_KINDS
from casetrack.services.integration import mail, webhooks
from casetrack.services.workdays.calendar import now, parse_day
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.services.figures.definitions import local_day

SUPERVISING_ROLES = ("team_leader", "county_officer", "leader")
REPORT_LATE = "report_late"   # the sweep's flag and digest: a progress report is owed
INBOX_SIZE = 100
GROUP_DAYS = 7  # days of digest lines a page of the inbox shows
GROUP_SHOWN = 5  # notices shown when a digest line is opened; the rest one link away


def notify(kind: str, case: Case | None, message: str | LazyString, *, unit: Unit | None = None,
           user: User | None = None) -> Notification:
    """Put a notice in a user's inbox, or in the inbox of every user of a unit. A message of the
    catalogue (a lazy string) is kept in the office's language, the deployment's default: it is
    written once for readers other than the one whose request wrote it."""
    if isinstance(message, LazyString):
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            message = str(message)
    row = Notification(kind=kind, message=message, case_id=case.id if case else None,
                       unit_id=unit.id if unit else None, user_id=user.id if user else None, created_at=now())
    db.session.add(row)
    mail.queue(_subject(kind, case), message, unit_id=row.unit_id, user_id=row.user_id)
    return row


def _subject(kind: str, case: Case | None) -> str:
    return f"[casetrack] {kind.replace('_', ' ')}" + (f" #{case.id} {case.title}" if case else "")


_INSERT_NOTICE = Notification.__table__.insert()  # built once: every filing runs it


def notify_unit_of_case(kind: str, case: Case, unit: Unit, message: str | None = None, *,
                        except_user_id: int | None = None) -> None:
    """`notify` a unit of a case already written (`message`: default its title; every user of
    the unit but `except_user_id`), by one INSERT (no object, no flush: a filing and a transition
    write it after their rows), sent with the COMMIT on PostgreSQL."""
    message = case.title if message is None else message
    write_at_commit(db.session.connection(), _INSERT_NOTICE,
                    {"kind": kind, "case_id": case.id, "message": message, "unit_id": unit.id,
                     "user_id": None, "except_user_id": except_user_id, "read": False,
                     "created_at": now()})
    mail.queue(_subject(kind, case), message, unit_id=unit.id)


# -- the sweep's digests: one notice per unit and kind per run, not one per case -------------

DigestKey = tuple[str, int, int | None]  # (kind, recipient unit id, id of the unit counted or None)


class Digests:
    """The digest notices of one sweep run, all stamped with the run's time (as its events are):
    a digest is inserted by the first batch that flags a case for it and counted up by each later
    batch, in that batch's transaction, so whatever is committed is counted. Mailed once, at the end."""

    def __init__(self, at: datetime):
        self.at, self.ids, self.counts = at, {}, Counter()

    def add(self, counts: Counter[DigestKey]) -> None:
        fresh = [key for key in counts if key not in self.ids]
        if fresh:  # the first run of a sweep's batch: only then is there a row to flush
            rows = [Notification(kind=kind, unit_id=unit_id, about_unit_id=about, count=counts[kind, unit_id, about],
                                 message="", created_at=self.at) for kind, unit_id, about in fresh]
            db.session.add_all(rows)
            db.session.flush()
            self.ids.update((key, row.id) for key, row in zip(fresh, rows))
        more = [(n, self.ids[key]) for key, n in counts.items() if key not in fresh]
        if more:  # by the driver: SQLAlchemy's executemany machinery cost more than the UPDATEs
            conn = db.session.connection()
            conn.exec_driver_sql(f"UPDATE notifications SET count = count + {driver_marks(conn, 1)} "
                                 f"WHERE id = {driver_marks(conn, 1)}", more)
        self.counts.update(counts)

    def mail(self) -> None:
        """One mail per digest, to its unit's users, in the default language (the run's counts)."""
        if not self.ids or not mail.enabled():
            return
        names = dict(db.session.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_({about for _kind, _unit, about in self.ids if about}))).all())
        for (kind, unit_id, about), n in self.counts.items():
            text = digest_text(kind, n, names.get(about))
            mail.queue(f"[casetrack] {text}", text, unit_id=unit_id)


def digest_text(kind: str, n: int, about: str | None = None) -> str:
    """What a digest says, in the reader's language."""
    if kind == "pre_warning":
        return ngettext("%(num)d case due soon", "%(num)d cases due soon", n)
    if kind == REPORT_LATE:
        return ngettext("%(num)d case owes a progress report", "%(num)d cases owe a progress report", n)
    if about:
        return ngettext("%(num)d case of %(unit)s newly overdue", "%(num)d cases of %(unit)s newly overdue",
                        n, unit=about)
    return ngettext("%(num)d case newly overdue", "%(num)d cases newly overdue", n)


def describe(notice: Notification) -> str:
    """A notice's text for its reader: a digest rendered in their language, else its message."""
    if notice.count is None:
        return notice.message
    return digest_text(notice.kind, notice.count, notice.about_unit.name if notice.about_unit else None)


def link(notice: Notification) -> str | None:
    """Where a digest leads: the case list filtered to the cases it counts (held by its unit,
    overdue or due soon, flagged by its run); None for a notice about one case."""
    if notice.count is None:
        return None
    held = notice.about_unit or notice.unit
    if notice.kind == REPORT_LATE:
        return url_for("cases.list_", held_by=held.code)
    condition = {"overdue": "true"} if notice.kind == "overdue" else {"due_soon": "true"}
    return url_for("cases.list_", held_by=held.code, **condition, flagged_at=notice.created_at.isoformat())


def _mine(user: User):
    unit = and_(Notification.unit_id == user.unit_id,
                or_(Notification.except_user_id.is_(None), Notification.except_user_id != user.id))
    return or_(Notification.user_id == user.id, unit if user.unit_id else False)


def inbox(user: User, kind: str | None = None, day: date | None = None,
          cursor: int | None = None) -> list[Notification]:
    """My newest notices (of one kind and Asia/Shanghai day if given, older than `cursor`)."""
    stmt = select(Notification).where(_mine(user), *_group(kind, day))
    if cursor:
        stmt = stmt.where(Notification.id < cursor)
    return list(db.session.scalars(stmt.options(selectinload(Notification.unit),
                                                selectinload(Notification.about_unit))
                                   .order_by(Notification.id.desc()).limit(INBOX_SIZE)))


def group_args(args) -> tuple[str | None, date | None]:
    """A digest line's kind and day from a query string or form; a bad value is refused."""
    kind, day = args.get("kind") or None, None
    errors = {}
    if kind and kind not in NOTICE_KINDS:
        errors["kind"] = _("No such kind of notice.")
    if args.get("day"):
        try:
            day = parse_day(args["day"])
        except ValueError:
            errors["day"] = _("A date like 2026-07-31, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the filters."))
    return kind, day


def _group(kind: str | None, day: date | None) -> list:
    return ([Notification.kind == kind] if kind else []) + (
        [shanghai_day(Notification.created_at) == day.isoformat()] if day else [])


@dataclass
class NoticeGroup:
    """One digest line of the inbox: the notices of one kind on one day."""
    kind: str
    day: date
    count: int
    unread: int
    newest: list[Notification] = field(default_factory=list)


def grouped(user: User, before: date | None = None, days: int = GROUP_DAYS,
            shown: int = GROUP_SHOWN) -> tuple[list[NoticeGroup], date | None]:
    """My notices by (day, kind), newest day first, `days` days a page, with the `shown` newest
    of each group; and the day to continue before (None at the end). Counted by the database."""
    day = shanghai_day(Notification.created_at)
    mine = select(day.label("day")).where(_mine(user))
    if before:
        mine = mine.where(day < before.isoformat())
    page_days = list(db.session.scalars(mine.distinct().order_by(day.desc()).limit(days + 1)))
    more = len(page_days) > days
    page_days = page_days[:days]
    if not page_days:
        return [], None
    rows = db.session.execute(
        select(day, Notification.kind, func.count(Notification.id),
               func.sum(when((Notification.read.is_(False), 1), else_=0)))
        .where(_mine(user), day.in_(page_days)).group_by(day, Notification.kind)
        .order_by(day.desc(), Notification.kind))
    groups = [NoticeGroup(kind, date.fromisoformat(d), n, unread or 0) for d, kind, n, unread in rows]
    # The newest few of every group in one query: numbered within their group by the database.
    rank = func.row_number().over(partition_by=(day, Notification.kind),
                                  order_by=Notification.id.desc()).label("rank")
    ranked = select(Notification.id, rank).where(_mine(user), day.in_(page_days)).subquery()
    newest = db.session.scalars(
        select(Notification).join(ranked, ranked.c.id == Notification.id).where(ranked.c.rank <= shown)
        .options(selectinload(Notification.unit), selectinload(Notification.about_unit))
        .order_by(Notification.id.desc()))
    by_key = {(g.day, g.kind): g for g in groups}
    for n in newest:
        by_key[local_day(n.created_at), n.kind].newest.append(n)
    return groups, date.fromisoformat(page_days[-1]) if more else None


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id))
                             .where(_mine(user), Notification.read.is_(False))) or 0


def mark_read(user: User, notice_id: int | None = None, kind: str | None = None,
              day: date | None = None) -> int:
    """Mark one notice, a group of them (one kind, one day) or all of mine read; returns how many changed."""
    stmt = update(Notification).where(_mine(user), Notification.read.is_(False), *_group(kind, day))
    if notice_id is not None:
        if db.session.scalars(select(Notification.id).where(
                _mine(user), Notification.id == notice_id)).first() is None:
            raise NotFound(_("No such notice."))
        stmt = stmt.where(Notification.id == notice_id)
    return db.session.execute(stmt.values(read=True)).rowcount


# -- supervision notes (督办) --------------------------------------------------------------

def may_supervise(case: Case, user: User) -> bool:
    """The handler's superiors: a team leader or county officer above the handling unit; a
    leader (县领导) over any case its unit holds or stands above, the office's own included."""
    return (user.active and user.role in SUPERVISING_ROLES and user.unit is not None
            and (user.unit_id != case.unit_id or user.role == "leader") and user.unit.contains(case.unit))


def add_supervision_note(actor: User, case: Case, text: Any) -> SupervisionNote:
    """A superior presses the handling unit on a case; the unit must acknowledge it."""
    if not may_supervise(case, actor):
        raise Forbidden(_("Only a superior of the handling unit supervises this case."))
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed({"text": _("Please fill this in.")}, _("Please correct the marked fields."))
    if len(text) > 2000:
        raise ValidationFailed({"text": _("At most %(n)d characters.", n=2000)})
    if problem := text_error(text, one_line=False):
        raise ValidationFailed({"text": problem})
    note = SupervisionNote(case_id=case.id, unit_id=case.unit_id, text=text.strip(),
                           author_id=actor.id, created_at=now())
    db.session.add(note)
    log_event(case, actor, "supervise", {"text": note.text})
    notify("supervision", case, note.text, unit=case.unit)
    db.session.flush()
    return note


def pending_notes(user: User) -> list[SupervisionNote]:
    if user.unit_id is None:
        return []
    return list(db.session.scalars(select(SupervisionNote).where(
        SupervisionNote.unit_id == user.unit_id, SupervisionNote.acknowledged_at.is_(None))
        .order_by(SupervisionNote.id)))


def acknowledge(actor: User, note_id: int) -> SupervisionNote:
    """The handling unit confirms it has read a supervision note."""
    note = db.session.get(SupervisionNote, note_id)
    if note is None or actor.unit_id != note.unit_id or not actor.active:
        raise NotFound(_("No such supervision note."))
    if note.acknowledged_at is None:
        note.acknowledged_at, note.acknowledged_by_id = now(), actor.id
        log_event(note.case, actor, "acknowledge", {"note": note.id})
        notify("supervision", note.case, _l("Supervision note acknowledged by %(name)s", name=actor.name),
               user=note.author)
        db.session.flush()
    return note


def log_event(case: Case, actor: User | None, trigger: str, data: dict[str, Any]) -> CaseEvent:
    """An event that does not move the case (from and to are where it stands), flushed, and its
    webhook deliveries queued with it."""
    ev = CaseEvent(case_id=case.id, at=now(), actor_id=actor.id if actor else None,
                   trigger=trigger, from_state=case.state, to_state=case.state,
                   from_unit_id=case.unit_id, to_unit_id=case.unit_id, data=data)
    db.session.add(ev)
    webhooks.queue_events([ev])
    return ev
