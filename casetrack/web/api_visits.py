"""JSON API for visit targets, visits and coverage, on the /api/v1 blueprint."""
from __future__ import annotations

import io
from typing import Any

from flask import g, jsonify, request, send_file, url_for
from flask_babel import gettext as _

from casetrack.extensions import db
from casetrack.models import Target, Visit
from casetrack.services.fieldwork import coverage as cov
from casetrack.services.fieldwork import sites, targets as tg
from casetrack.services.organisation.campaigns import campaign_named, campaigns
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.common.location import place_json
from casetrack.services.integration.sheets import ImportFailed
from casetrack.services.fieldwork.visits import import_visits, record_round, record_visit, visit_template
from casetrack.web.api import body, bp, case_json
from casetrack.web.idempotency import PARAMETER as IDEMPOTENCY
from casetrack.web.idempotency import once
from casetrack.web.openapi import DATE, UPLOAD, XLSX_BODY, doc, json_body, json_request, query, ref, responses

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TARGET_FIELDS = {"kind", "name", "address", "village", "group", "cadre", "code", "active", "lat", "long"}


def target_json(t: Target, visited: bool | None = None) -> dict[str, Any]:
    return {"id": t.id, "code": t.code, "kind": t.kind, "kind_label": tg.KIND_LABELS[t.kind],
            "name": t.name, "address": t.address, "village": t.village, "group": t.group.code,
            "cadre": t.cadre.username if t.cadre else None, "active": t.active,
            "lat": t.lat, "long": t.long, "campaign": t.campaign,
            **({"visited": visited} if visited is not None else {})}


def visit_json(v: Visit) -> dict[str, Any]:
    return {"id": v.id, "target": v.target_id, "targets": [t.id for t in v.reached], "form": v.form,
            "date": v.visited_on.isoformat(),
            "group": v.group.code, "cadres": [u.username for u in v.cadres],
            "notes": v.notes, "suggestions": v.suggestions,
            "location": place_json(v.lat, v.long, v.location_accuracy), "address": v.address,
            "created_by": v.created_by.username if v.created_by else None}


def _only(data: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """The body, if it has no field but these."""
    unknown = {k: _("This action takes no such field.") for k in data if k not in fields}
    if unknown:
        raise ValidationFailed(unknown)
    return data


@bp.get("/targets")
@doc(summary="Visit targets in my scope, by keyset pages", tags=["visits"],
     parameters=query("q", "unit", "kind", "visited", "active", "cursor", "campaign", as_of=DATE,
                      visited_from=DATE),
     responses=responses(("200", json_body({"type": "object", "required": ["targets", "next", "cursor"], "properties": {
         "targets": {"type": "array", "items": ref("Target")}, "next": {"type": ["string", "null"]},
         "cursor": {"type": ["string", "null"]}}})), 404, 422))
def targets():
    f = tg.TargetFilters.from_args(g.api_user, request.args)
    page, cursor = tg.list_targets(g.api_user, f)
    seen = tg.visited_ids(page)
    nxt = url_for(".targets", **{**request.args.to_dict(), "cursor": cursor}) if cursor else None
    return jsonify(targets=[target_json(t, t.id in seen) for t in page], next=nxt,
                   cursor=str(cursor) if cursor else None)


@bp.post("/targets")
@doc(summary="Add a visit target", tags=["visits"], requestBody=json_request(ref("TargetFields")),
     responses={**responses(("201", json_body(ref("Target"))), 400, 403, 404, 409, 422),
                "201": {**json_body(ref("Target")), "headers": {"Location": {"schema": {"type": "string"}}}}})
def create_target():
    target = tg.create_target(g.api_user, **_only(body(), TARGET_FIELDS))
    db.session.commit()
    return jsonify(target_json(target, False)), 201, {
        "Location": url_for(".target", target_id=target.id)}


@bp.get("/targets/<int:target_id>")
@doc(summary="A visit target in my scope", tags=["visits"],
     responses=responses(("200", json_body(ref("Target"))), 404))
def target(target_id: int):
    row = tg.get_target(g.api_user, target_id)
    return jsonify(target_json(row, bool(tg.visited_ids([row]))))


@bp.patch("/targets/<int:target_id>")
@doc(summary="Change a visit target", tags=["visits"], requestBody=json_request(ref("TargetFields")),
     responses=responses(("200", json_body(ref("Target"))), 400, 403, 404, 409, 422))
def update_target(target_id: int):
    row = tg.get_target(g.api_user, target_id)
    current = {"kind": row.kind, "name": row.name, "address": row.address, "village": row.village,
               "group": row.group.code, "cadre": row.cadre.username if row.cadre else "",
               "code": row.code or "", "lat": row.lat, "long": row.long}
    tg.update_target(g.api_user, row, **{**current, **_only(body(), TARGET_FIELDS)})
    db.session.commit()
    return jsonify(target_json(row, bool(tg.visited_ids([row]))))


@bp.get("/targets/import-template")
@doc(summary="The target import sheet (campaign=rectification: the sites' sheet)", tags=["visits"],
     parameters=query("campaign"), responses=responses(("200", XLSX_BODY), 403, 422))
def import_template():
    campaign = request.args.get("campaign") or None
    if campaign and campaign != campaigns().default:   # another campaign's sites
        return send_file(io.BytesIO(sites.site_template(g.api_user, campaign_named(campaign))), mimetype=XLSX,
                         as_attachment=True, download_name="sites-template.xlsx")
    return send_file(io.BytesIO(tg.import_template(g.api_user)), mimetype=XLSX, as_attachment=True,
                     download_name="targets-template.xlsx")


def _upload() -> tuple[str, bytes]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ImportFailed([{"row": None, "column": None,
                             "message": _("Send the file in the multipart field 'file'.")}])
    return upload.filename, upload.read()


@bp.post("/targets/import")
@doc(summary="Import visit targets (campaign=rectification: its sites) from a sheet, all or nothing",
     tags=["visits"], requestBody=UPLOAD, parameters=query("campaign"),
     responses=responses(("200", json_body(ref("ImportResult"))), 400, 403, 409, 413, 422))
def import_targets():
    result = sites.importer(request.args.get("campaign"))(g.api_user, *_upload())
    db.session.commit()
    return jsonify(result)


@bp.get("/visits/import-template")
@doc(summary="The visit import sheet", tags=["visits"], responses=responses(("200", XLSX_BODY)))
def visits_import_template():
    return send_file(io.BytesIO(visit_template()), mimetype=XLSX, as_attachment=True,
                     download_name="visits-template.xlsx")


@bp.post("/visits/import")
@doc(summary="Import visits from a sheet, all or nothing", tags=["visits"], requestBody=UPLOAD,
     responses=responses(("200", json_body(ref("ImportResult"))), 400, 403, 409, 413, 422))
def visits_import():
    result = import_visits(g.api_user, *_upload())
    db.session.commit()
    return jsonify(result)


@bp.post("/visits")
@doc(summary="Record a visit that reached one or more targets; file the problems found, keep the suggestions",
     tags=["visits"], parameters=[IDEMPOTENCY],
     requestBody=json_request({"type": "object", "required": ["date"], "properties": {
         "target": {"type": ["integer", "string"]},
         "targets": {"type": "array", "items": {"type": ["integer", "string"]},
                     "description": "every target reached (a meeting's households); with `target`, after it"},
         "form": {"type": "string", "enum": ["door_to_door", "meeting", "enterprise", "reception", "other"]},
         "place": {"type": "string", "description": "a leader's visit: a place that is no registered target"},
         "group": {"type": "string", "description": "the group whose area the place is in"},
         "date": {"type": "string", "format": "date"},
         "cadres": {"type": "array", "items": {"type": "string"}}, "notes": {"type": "string"},
         "suggestions": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"oneOf": [
             {"type": "string"}, {"type": "object", "properties": {
                 "text": {"type": "string"}, "category": {"type": "string"},
                 "unit": {"type": "string", "description": "the unit that must answer it"}}}]}}],
             "description": "how many, or each as a text to be answered"},
         "problems": {"type": "array", "items": ref("NewCase")},
         "location": ref("Location"), "address": {"type": "string", "maxLength": 200}}}),
     responses=responses(("201", json_body({"allOf": [ref("Visit"), {"type": "object", "required": ["cases"],
         "properties": {"cases": {"type": "array", "items": ref("Case")}}}]})), 400, 403, 404, 409, 422))
def create_visit():
    data = _only(body(), {"target", "targets", "form", "place", "group", "date", "cadres", "notes", "suggestions",
                          "problems", "location", "address"})

    def record():
        visit, cases = record_visit(g.api_user, **data)
        return {**visit_json(visit), "cases": [case_json(c) for c in cases]}, 201, {}
    return once("create_visit", data, record)


@bp.post("/visits/round")
@doc(summary="Record a day's round: one visit to each of several targets", tags=["visits"],
     requestBody=json_request({"type": "object", "required": ["targets", "date"], "properties": {
         "targets": {"type": "array", "items": {"type": ["integer", "string"]}},
         "date": {"type": "string", "format": "date"},
         "cadres": {"type": "array", "items": {"type": "string"}}, "notes": {"type": "string"}}}),
     responses=responses(("201", json_body({"type": "object", "required": ["visits"], "properties": {
         "visits": {"type": "array", "items": ref("Visit")}}})), 400, 403, 404, 409, 422))
def create_round():
    data = _only(body(), {"targets", "date", "cadres", "notes"})
    visits = record_round(g.api_user, **data)
    db.session.commit()
    return jsonify(visits=[visit_json(v) for v in visits]), 201


@bp.get("/coverage")
@doc(summary="Coverage of a unit (default: mine) on a day, by kind, with milestones", tags=["visits"],
     parameters=query("unit", as_of=DATE),
     responses=responses(("200", json_body(ref("Coverage"))), 404, 422))
def coverage():
    return jsonify(cov.coverage(*cov.unit_and_day(g.api_user, request.args)))
