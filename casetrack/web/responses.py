"""How the application answers an error: JSON under /api/, Open311's own format under
/open311/ (its blueprint registers it here), else the error page; never a traceback."""
from __future__ import annotations

import logging
from collections.abc import Callable

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Path prefix -> the answer to an error there (status, messages), for APIs with an error format
# of their own; registered by their blueprints, so this module imports none of them.
ERROR_FORMATS: dict[str, Callable[[int, list[str]], object]] = {}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, **extra):
    for prefix, answer in ERROR_FORMATS.items():  # unknown addresses and methods there too
        if request.path.startswith(prefix):
            return answer(status, [message])
    if wants_json():
        return jsonify(error=code, message=message, **extra), status
    try:
        return render_template("errors/error.html", status=status, message=message), status
    except Exception:  # the error page itself failed: a plain answer, never a traceback
        log.exception("error page failed")
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}


def csrf_refused():
    return error_response(400, "csrf", _("The form expired or came from elsewhere; "
                                         "reload the page and try again."))


def with_headers_of(exc: HTTPException, answer):
    """Our answer to an HTTP error, with the headers the error carries (a 405's Allow)."""
    response = make_response(answer)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
