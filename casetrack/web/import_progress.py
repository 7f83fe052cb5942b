"""An import page's progress, streamed: the page's script sends the form with the header
`X-Import-Progress: 1` and reads one JSON object a line as the work goes on.

The import runs in a thread of its own, in an app context of its own (its own session and
transaction), while the request's thread streams what the services report (rows read, checked,
written) and, last, the outcome. All or nothing as without the header: the service checks every
row before it writes, and the thread commits once at the end or rolls everything back; the
request's own transaction is ended before the thread starts, so that on SQLite the write lock
is the thread's alone."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from casetrack import long_work
from casetrack.extensions import db
from casetrack.models import User
from casetrack.services.common.errors import ServiceError
from casetrack.services.integration.sheets import ImportFailed

log = logging.getLogger(__name__)
HEADER = "X-Import-Progress"
EVERY = 0.2  # seconds between two progress lines of one step


def wanted() -> bool:
    return request.headers.get(HEADER) == "1"


def streamed(service: Callable, done: Callable[[Any], str], next_url: str, user: User, filename: str,
             data: bytes) -> Response:
    """Run `service(user, filename, data)` in a thread, streaming its progress as NDJSON lines
    {"step", "done", "total"}, then {"ok": true, "message", "next"} or {"ok": false, "message",
    "errors"}."""
    app, locale, user_id = current_app._get_current_object(), str(get_locale()), user.id
    db.session.rollback()  # the request holds no transaction (nor SQLite's write lock) meanwhile
    lines: queue.Queue[dict | None] = queue.Queue()

    def work() -> None:
        with app.app_context(), force_locale(locale):
            try:
                lines.put(_outcome(service, done, next_url, user_id, filename, data, lines))
            finally:
                db.session.remove()
                lines.put(None)

    threading.Thread(target=work, name="import", daemon=True).start()

    def body() -> Iterator[str]:
        while (line := lines.get()) is not None:
            yield json.dumps(line, ensure_ascii=False) + "\n"

    return Response(body(), mimetype="application/x-ndjson",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # nginx: pass it on at once


def refused(errors: dict[str, list[str]]) -> Response:
    """The form itself refused (no file chosen...): one line, as the last line of a stream."""
    message = " ".join(m for messages in errors.values() for m in messages)
    return Response(json.dumps({"ok": False, "message": message, "errors": []}, ensure_ascii=False) + "\n",
                    422, mimetype="application/x-ndjson")


def _outcome(service, done, next_url: str, user_id: int, filename: str, data: bytes, lines: queue.Queue) -> dict:
    """What the import did, committed; or why nothing was, rolled back."""
    shown: dict[str, float] = {}

    def tell(step: str, n: int, total: int | None) -> None:
        moment = time.monotonic()
        if n != total and moment - shown.get(step, 0.0) < EVERY:
            return
        shown[step] = moment
        lines.put({"step": step, "done": n, "total": total})

    try:
        with long_work.listening(tell):
            result = service(db.session.get(User, user_id), filename, data)
        db.session.commit()
        return {"ok": True, "message": done(result), "next": next_url}
    except ImportFailed as exc:
        db.session.rollback()
        return {"ok": False, "message": exc.message, "errors": exc.errors}
    except ServiceError as exc:
        db.session.rollback()
        return {"ok": False, "message": exc.message, "errors": []}
    except Exception:  # noqa: BLE001 - logged; the page gets a sentence, not a traceback
        db.session.rollback()
        log.exception("import of %s failed", filename)
        return {"ok": False, "message": _("Something went wrong on our side; nothing was changed."), "errors": []}
