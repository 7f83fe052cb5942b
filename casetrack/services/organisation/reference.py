"""What every filing reads and rarely changes — the active categories, the declared days off,
the active webhooks — kept per process, as long as the reference version stays the same.

The version (`models.reference`) is changed by database triggers on those tables, whoever writes
them, and it is read in the same statement as the API token's owner (`VERSION`), so a filing
over the API reads none of these tables while they do not change, and every worker sees a change
with its next request: a category deactivated is refused, a day off declared moves the next
deadline, at once. A short time-to-live was not enough: "at once" is what an administrator
expects after deactivating a category. A filing from a page reads the version itself."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import make_transient_to_detached

from casetrack.extensions import db
from casetrack.models import Category, DayOff, ReferenceVersion
from casetrack.services.integration.webhooks import ACTIVE_HOOKS

VERSION = select(ReferenceVersion.version).where(ReferenceVersion.id == 1).scalar_subquery()
_VERSION_READ = select(VERSION)
_ACTIVE_CATEGORIES = select(*Category.__table__.c).where(Category.active.is_(True))
_DAYS_OFF = select(DayOff.day)
_SEEN = "casetrack.reference_version"   # session.info: the version read with the token's owner
_KEY = "casetrack.reference"            # app.extensions: this process's copy


@dataclass(frozen=True)
class Reference:
    version: int
    categories: dict[str, Category]   # active, by code; detached objects, never in a session
    days_off: frozenset[date]
    webhooks: tuple[int, ...]         # ids of the active webhooks


def seen(version: int) -> None:
    """The version, read by this request with another statement (the token's owner)."""
    db.session.info[_SEEN] = version


def current() -> Reference:
    """This process's copy if it is of the version this request read (taken once), else the
    tables read again and kept."""
    version = db.session.info.pop(_SEEN, None)
    if version is None:
        version = db.session.scalar(_VERSION_READ)
    ref = current_app.extensions.get(_KEY)
    if ref is None or ref.version != version:
        categories = {}
        for row in db.session.execute(_ACTIVE_CATEGORIES).mappings():
            category = Category(**row)
            make_transient_to_detached(category)
            categories[category.code] = category
        ref = Reference(version, categories, frozenset(db.session.scalars(_DAYS_OFF)),
                        tuple(db.session.scalars(ACTIVE_HOOKS)))
        if version is not None:  # a database without the row (not migrated) is never kept
            current_app.extensions[_KEY] = ref
    return ref


def active_category(ref: Reference, code: str) -> Category | None:
    """The active category of that code, as an object of the current session (no SELECT); the
    session's own object if it holds one (merged, the copy would overwrite it)."""
    category = ref.categories.get(code)
    if category is None:
        return None
    held = db.session.identity_map.get(db.session.identity_key(Category, category.id))
    return held if held is not None else db.session.merge(category, load=False)
