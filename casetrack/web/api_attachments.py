"""Photos and documents of cases over the API, on the /api/v1 blueprint."""
from __future__ import annotations

import hashlib
import io

from flask import g, request, url_for

from casetrack.services.casework.attachments import JPEG, OLE, OOXML, attach, get_attachment, read_limited
from casetrack.services.casework.cases import get_case
from casetrack.web.api import attachment_json, bp
from casetrack.web.attachments import send_attachment
from casetrack.web.idempotency import HEADER
from casetrack.web.idempotency import PARAMETER as IDEMPOTENCY
from casetrack.web.idempotency import once
from casetrack.web.openapi import doc, json_body, ref, responses

BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_TYPES = [JPEG, "application/pdf", *(t for t, _ext in OOXML.values()), *OLE.values()]


@bp.post("/cases/<int:case_id>/attachments")
@doc(summary="Add a photo or a document to a case (the unit handling it, the group that filed it)",
     tags=["cases"], parameters=[IDEMPOTENCY],
     requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
         "type": "object", "required": ["file", "stage"], "properties": {
             "file": {"type": "string", "format": "binary",
                      "description": "a photo (its header checked at once; re-encoded as JPEG, EXIF removed, "
                                     "after the answer: never served as sent); for a document also PDF or Office"},
             "caption": {"type": "string", "maxLength": 200},
             "stage": {"type": "string", "enum": ["before", "after", "document"],
                       "description": "before (整改前) or after (整改后) the work, or a document"}}}}}},
     responses={**responses(("201", json_body(ref("Attachment"))), 403, 404, 413, 422),
                "201": {**json_body(ref("Attachment")), "headers": {"Location": {"schema": {"type": "string"}}}}})
def upload_attachment(case_id: int):
    case = get_case(g.api_user, case_id)
    upload = request.files.get("file")
    # Read (within the limit) before the key is looked up: a repeated key must carry the same bytes.
    data = read_limited(upload.stream) if upload and upload.filename else None
    filename, stage, caption = (upload.filename if upload else ""), request.form.get("stage"), \
        request.form.get("caption", "")
    sent = {"case": case.id, "stage": stage, "caption": caption, "filename": filename,
            # hashed only for a key's check: the whole upload once more is a few ms per photo
            "sha256": hashlib.sha256(data).hexdigest() if data is not None and HEADER in request.headers
            else None}

    def add():
        row = attach(case, g.api_user, io.BytesIO(data) if data is not None else None, filename, stage, caption)
        return attachment_json(row), 201, {"Location": url_for(".attachment", attachment_id=row.id)}
    return once("upload_attachment", sent, add)


FILE_RESPONSES = responses(("200", {"description": "the photo (image/jpeg) or the document (a download)",
                                    "content": {t: BINARY for t in FILE_TYPES}}), 404)


@bp.get("/attachments/<int:attachment_id>")
@doc(summary="A photo or document of a case in my scope", tags=["cases"], responses=FILE_RESPONSES)
def attachment(attachment_id: int):
    return send_attachment(get_attachment(g.api_user, attachment_id), thumbnail=False)


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@doc(summary="A photo's thumbnail (image/jpeg); documents have none (404)", tags=["cases"],
     responses=responses(("200", {"description": "the thumbnail", "content": {JPEG: BINARY}}), 404))
def attachment_thumbnail(attachment_id: int):
    return send_attachment(get_attachment(g.api_user, attachment_id), thumbnail=True)
