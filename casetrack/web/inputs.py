"""What every request goes through before a view: one JSON reader, one id converter, one check
of query and form text. Inputs no one typed (deep JSON, Infinity, lone surrogates, ids past the
INTEGER columns, control characters) are refused here with a message, never a 500."""
from __future__ import annotations

import io
import json
import math
from typing import Any

from flask import Request as FlaskRequest
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from casetrack.services.casework.cases import MAX_ID
from casetrack.services.common.errors import ServiceError, ValidationFailed
from casetrack.services.common.text import NEVER, printable, text_error

MAX_DEPTH = 32  # no body of this API nests more than a few levels


class BadParameter(ValidationFailed):
    """A query or form value no view could read: 400, naming the parameter."""
    status = 400
    code = "bad_request"


class RefusedJSON(ValueError):
    """Why a body was refused: "deep", "constant" (with the value) or "text" (with the field)."""

    def __init__(self, problem: str, detail: str = "", text: str = ""):
        super().__init__(problem, detail)
        self.problem, self.detail, self.text = problem, detail, text


def _constant(name: str) -> Any:
    raise RefusedJSON("constant", name)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as inf
        raise RefusedJSON("constant", text)
    return value


def _check(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise RefusedJSON("deep")
    if isinstance(value, str):
        if NEVER.search(value):
            raise RefusedJSON("text", path or "body", value)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            if NEVER.search(key):
                raise RefusedJSON("text", printable(name), key)
            _check(item, name, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{path}.{i}" if path else str(i), depth + 1)


class StrictJSON:
    """The JSON module of every request: finite numbers only, at most MAX_DEPTH levels, text
    without control characters or lone surrogates (keys too)."""

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(data, parse_constant=_constant, parse_float=_float)
        except RecursionError:  # the C scanner stops cleanly at the interpreter's limit
            raise RefusedJSON("deep") from None
        _check(value, "", 0)
        return value


class Request(FlaskRequest):
    @property
    def json_module(self):
        return StrictJSON

    @json_module.setter
    def json_module(self, provider) -> None:
        """Flask hands every request the app's JSON provider; bodies keep StrictJSON (the
        provider also reads the session cookie, which must never be refused)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> io.BytesIO:
        """An upload stays in memory (MAX_CONTENT_LENGTH bounds the whole body): the service
        reads it whole anyway, and Werkzeug's temporary file past 500 KB wrote every photo's
        bytes to disk and read them back once more."""
        return io.BytesIO()

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # not sent as application/json
            raise ServiceError(_("The body must be a JSON object."))
        if isinstance(e, RefusedJSON) and e.problem == "deep":
            raise ServiceError(_("The JSON body is nested too deeply (at most %(n)d levels).", n=MAX_DEPTH))
        if isinstance(e, RefusedJSON) and e.problem == "constant":
            raise ServiceError(_("%(value)s is not a number JSON allows; send a finite number.",
                                 value=e.detail))
        if isinstance(e, RefusedJSON):
            raise ValidationFailed({e.detail: text_error(e.text, one_line=False)})
        raise ServiceError(_("The body is not valid JSON."))


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id past MAX_ID (the INTEGER columns' bound; SQLite's
    driver overflows at 2^63, PostgreSQL at 2^31) names no row, so it is a 404."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            # NotFound, not ValidationError: Werkzeug would answer a method another rule of the
            # same path takes (PATCH where GET exists) with a 405 that names only that GET.
            raise NotFound()
        return number


def refuse_bad_text(fields) -> None:
    """Query or form fields (name, value): any control character (tab and line breaks aside)
    or lone surrogate is a 400 naming the field."""
    for key, value in fields:
        for text in (str(key or ""), str(value or "")):
            if NEVER.search(text):
                raise BadParameter({printable(str(key)): text_error(text, one_line=False)})


def refuse_empty_dates(view, args) -> None:
    """A date parameter of an API operation sent empty (?as_of=) is a 400, not "absent": a
    client that meant a day gets told, instead of today's figures. The page forms, which send
    every field, are not described and keep empty as absent."""
    operation = getattr(view, "openapi", None) or {}
    empty = {p["name"]: _("Empty: give a date like 2026-07-31, or leave the parameter out.")
             for p in operation.get("parameters", ())
             if p.get("in") == "query" and p.get("schema", {}).get("format") in ("date", "date-time")
             and p["name"] in args and not args[p["name"]].strip()}
    if empty:
        raise BadParameter(empty, _("Please correct the parameters."))
