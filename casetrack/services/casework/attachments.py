"""Photos and documents on cases: checked, re-encoded, stored (a folder or the database), served
only within the case's scope, and bound to the transition they prove.

A photo is quarantined, as FixMyStreet's PhotoSet keeps an upload and makes what it serves later:
the request checks what is cheap (size, count, stage, caption, the image's header: format and
pixels) and keeps the bytes as received, pending (`pending/<id>` in the folder, or its blob row);
the full decode, orientation, EXIF removal, resizing and thumbnail run off the request path
(`process_photos`: after the answer is sent, on the first read of the photo, or by
`flask process-photos`), and the bytes as received are deleted then. A pending photo is never served."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import threading
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import delete, func, select, text, update

from casetrack.db.intent import outside_write_lock, write_intent
from casetrack.extensions import db
from casetrack.models import STAGES, Attachment, AttachmentBlob, Case, User
from casetrack.services.workdays.calendar import now
from casetrack.services.casework import follow_up
from casetrack.services.casework.cases import MAX_ID, get_case, may_act
from casetrack.services.casework.notices import log_event
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.workflow import MAX_PHOTOS as PER_ITEM  # of one stage on a case, or with one transition

# A stored photo's longer side, pixels: what a phone's screen (1080-1440 px) or an A4 print
# needs, and what FixMyStreet's pages shrink a photo to before sending it; static/photos.js too.
MAX_SIDE = 2048
THUMB_SIDE = 320
DCT_SCALES = (1, 2, 4, 8)  # the reductions libjpeg decodes a JPEG at, for less than a full decode
JPEG = "image/jpeg"
IMAGE_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}
OOXML = {"word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
         "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
         "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")}
OLE = {".doc": "application/msword", ".xls": "application/vnd.ms-excel",
       ".ppt": "application/vnd.ms-powerpoint"}
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
MAX_ZIP_ENTRIES = 10_000
PENDING = "pending"  # the folder (under the attachments folder) of the photos as uploaded, by id
PENDING_IN_SESSION = "casetrack.pending_photos"  # session.info: the photos this request added
PHOTO_REMOVED = "photo_removed"  # the timeline's event when a photo proves unreadable
ORPHAN_AGE = 3600  # seconds: a quarantined file with no pending row is removed after this (a rollback)


@dataclass
class Stored:
    """What an upload became: the bytes to keep and how to serve them."""
    data: bytes
    content_type: str
    thumbnail: bytes | None
    extension: str


def max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def read_limited(stream: IO[bytes]) -> bytes:
    """The upload's bytes, refused once past the limit (read at most limit + 1)."""
    data = stream.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise ValidationFailed({"file": _("The file is larger than %(mb)s MB; take a smaller photo or "
                                          "split the document.", mb=f"{max_bytes() / 2**20:g}")})
    return data


def _jpeg(image: Image.Image, quality: int, optimize: bool = False) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=optimize)  # no exif= : the metadata is dropped
    return out.getvalue()


def _dct_scale(size: tuple[int, int]) -> int:
    """The least of libjpeg's reductions that brings a JPEG within MAX_SIDE (8 if none does)."""
    return next((k for k in DCT_SCALES if -(-max(size) // k) <= MAX_SIDE), DCT_SCALES[-1])


def _too_large() -> ValidationFailed:
    limit = int(current_app.config["ATTACHMENT_MAX_PIXELS"])
    return ValidationFailed({"file": _("The photo has more than %(n)d million pixels; take it at a "
                                       "lower resolution.", n=limit // 1_000_000)})


def _as_image(data: bytes, use: Callable[[Image.Image], Any]) -> Any:
    """`use` of the bytes as Pillow opens them (the header read) if they are an image of ours
    within the pixel limit, else None; past the limit, or a decompression bomb: refused with a
    message. Any other failure of Pillow's parsers or decoders on bytes from outside: None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in IMAGE_FORMATS:
                return None
            if image.width * image.height > int(current_app.config["ATTACHMENT_MAX_PIXELS"]):
                raise _too_large()
            return use(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_large() from None
    except ValidationFailed:
        raise
    except Exception:  # noqa: BLE001 - not an image
        return None


def _image_header(data: bytes) -> bool:
    """Whether the bytes' header is an image of ours (past the pixel limit: refused with a
    message); nothing is decoded: that is the processing's (`_image`)."""
    return _as_image(data, lambda _image: True) is True


def _image(data: bytes) -> Stored | None:
    """A photo re-encoded as JPEG (orientation applied, EXIF and everything else dropped), or None
    if Pillow does not read it as an image. Past the pixel limit: refused before decoding."""
    return _as_image(data, _reencoded)


def _reencoded(image: Image.Image) -> Stored:
    """Decoded once, every byte of it (that is the check that it is an image), and a JPEG larger
    than MAX_SIDE at the least of libjpeg's reductions that brings it within: a 12-megapixel
    photo (4032 px) is kept at 2016 px, a 2400 px one at 1200 px, never under MAX_SIDE / 2,
    for a fraction of the decoding, none of the resampling and a quarter of the encoding that
    shrinking the full image costs. The thumbnail is made from the stored photo, in place."""
    if image.format == "JPEG" and (scale := _dct_scale(image.size)) > 1:
        image.draft("RGB", (max(1, image.width // scale), max(1, image.height // scale)))
    image.load()
    image = ImageOps.exif_transpose(image, in_place=True) or image
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA").convert("RGB") if "A" in image.mode or image.mode == "P" \
            else image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # Not optimize=True for the photo: a second Huffman pass costs twice the encoding
    # for a few per cent of bytes; the thumbnail, small and served often, keeps it.
    photo = _jpeg(image, 85)
    # reducing_gap 1: a box reduction by the whole factor that leaves 320-640 px, then the
    # resampling: half the time of the default (from 640-1280 px), no difference to see
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), reducing_gap=1.0)
    return Stored(photo, JPEG, _jpeg(image, 75, optimize=True), ".jpg")


def _document(data: bytes, filename: str) -> Stored | None:
    """A PDF or an Office file recognised by its first bytes (and an OOXML file by its parts)."""
    if data.startswith(b"%PDF-"):
        return Stored(data, "application/pdf", None, ".pdf")
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if len(names) > MAX_ZIP_ENTRIES or "[Content_Types].xml" not in names:
            return None
        for prefix, (content_type, extension) in OOXML.items():
            if any(n.startswith(prefix) for n in names):
                return Stored(data, content_type, None, extension)
        return None
    extension = os.path.splitext(filename.lower())[1]
    if data.startswith(OLE_MAGIC) and extension in OLE:
        return Stored(data, OLE[extension], None, extension)
    return None


def check_upload(data: bytes, filename: str, stage: str) -> Stored | None:
    """An image for any stage (None: a photo by its header, to be processed later), or a PDF /
    Office file for documents; anything else (SVG, HTML...) is refused with a message."""
    if _image_header(data):
        return None
    stored = None
    if stage == "document":
        stored = _document(data, filename)
    if stored is None:
        raise ValidationFailed({"file": _("A photo (JPEG, PNG, WebP...) please, or for a document a PDF "
                                          "or Office file; this file is neither.")
                                if stage == "document" else
                                _("A photo (JPEG, PNG, WebP...) please; this file is not one.")})
    return stored


# -- storage ---------------------------------------------------------------------------------

def in_database() -> bool:
    return current_app.config["ATTACHMENTS"] == "database"


def folder() -> Path:
    return Path(current_app.config["ATTACHMENTS_DIR"] or Path(current_app.instance_path) / "attachments")


def _write_file(name: str, data: bytes) -> None:
    """Write before the row commits, whole or not at all: the name is the content's hash, so a
    rolled-back upload leaves at most an unused file, and no row names a missing one. On disk
    (fsync) before the row commits: a proof photo must not come back empty after a power cut."""
    path = folder() / name[:2] / name
    if not path.exists():
        _write(path, data)


def _pending_path(attachment_id: int) -> Path:
    return folder() / PENDING / str(attachment_id)


def _write(path: Path, data: bytes) -> None:
    """`data` at `path`, whole (fsync, then renamed into place) or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")  # threads of one worker too
    with open(part, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)


def _store(attachment: Attachment, stored: Stored) -> None:
    if in_database():
        db.session.add(AttachmentBlob(attachment_id=attachment.id, thumbnail=False, data=stored.data))
        if stored.thumbnail is not None:
            db.session.add(AttachmentBlob(attachment_id=attachment.id, thumbnail=True, data=stored.thumbnail))
        return
    _write_file(attachment.sha256, stored.data)
    if stored.thumbnail is not None:
        _write_file(attachment.thumb_sha256, stored.thumbnail)


def _keep_pending(attachment: Attachment, data: bytes) -> None:
    """The photo as uploaded, kept apart until processed: its blob row, or `pending/<id>` written
    (fsync) before the row commits (a rollback leaves a file no pending row names: removed later)."""
    if in_database():
        db.session.add(AttachmentBlob(attachment_id=attachment.id, thumbnail=False, data=data))
    else:
        _write(_pending_path(attachment.id), data)


def _pending_bytes(attachment_id: int) -> bytes | None:
    """A pending photo as uploaded (in either store), or None if it is gone."""
    blob = db.session.get(AttachmentBlob, (attachment_id, False))
    if blob is not None:
        return blob.data
    try:
        return _pending_path(attachment_id).read_bytes()
    except OSError:
        return None


def read_bytes(attachment: Attachment, thumbnail: bool) -> bytes:
    """The bytes kept (an attachment kept in the other store is looked for there too); a pending
    photo is never read out (process it first)."""
    if attachment.pending:
        raise NotFound(_("The photo is still being processed; try again in a moment."))
    blob = db.session.get(AttachmentBlob, (attachment.id, thumbnail))
    if blob is not None:
        return blob.data
    name = attachment.thumb_sha256 if thumbnail else attachment.sha256
    try:
        return (folder() / name[:2] / name).read_bytes()
    except OSError:
        raise NotFound(_("The file of this attachment is missing.")) from None


# -- use cases -------------------------------------------------------------------------------

def may_attach(case: Case, user: User) -> bool:
    """The unit holding the case, and the group that filed it."""
    return may_act(case, user) or (user.active and user.unit_id == case.group_id)


@follow_up.attaches_photos
def attach(case: Case, user: User, stream: IO[bytes] | None, filename: str, stage: Any,
           caption: Any = "") -> Attachment:
    """Add a photo or document to a case the user may see; flushed, not committed."""
    if not may_attach(case, user):
        raise Forbidden(_("Only the unit handling this case and the group that filed it add files."))
    errors = {}
    if stage not in STAGES:
        errors["stage"] = _("Before, after or document, please.")
    caption = caption if isinstance(caption, str) else ""
    if len(caption) > 200:
        errors["caption"] = _("At most %(n)d characters.", n=200)
    elif problem := text_error(caption):
        errors["caption"] = problem
    if stream is None:
        errors["file"] = _("Send the file in the multipart field 'file'.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    _lock(case)
    count = db.session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.case_id == case.id, Attachment.stage == stage, Attachment.event_id.is_(None)))
    if count >= PER_ITEM:
        raise ValidationFailed({"file": _("At most %(n)d files of this kind on a case.", n=PER_ITEM)})
    data = read_limited(stream)
    stored = check_upload(data, filename or "", stage)
    if stored is None:
        return _add_pending(case, user, data, filename, stage, caption)
    attachment = Attachment(
        case_id=case.id, stage=stage, caption=caption.strip(), content_type=stored.content_type,
        filename=_safe_name(filename, stored.extension), size=len(stored.data),
        sha256=_sha(stored.data),
        thumb_sha256=_sha(stored.thumbnail) if stored.thumbnail else None,
        created_by_id=user.id, created_at=now(), processed_at=now())
    db.session.add(attachment)
    db.session.flush()
    _store(attachment, stored)
    db.session.flush()
    return attachment


def _add_pending(case: Case, user: User, data: bytes, filename: str | None, stage: str,
                 caption: str) -> Attachment:
    """A photo checked by its header, kept as uploaded and named in the session for processing
    after the answer (the web layer's `call_on_close`)."""
    attachment = Attachment(
        case_id=case.id, stage=stage, caption=caption.strip(), content_type=JPEG,
        filename=_safe_name(filename, ".jpg"), size=len(data), sha256=None, thumb_sha256=None,
        created_by_id=user.id, created_at=now(), processed_at=None)
    db.session.add(attachment)
    db.session.flush()
    _keep_pending(attachment, data)
    db.session.flush()
    db.session.info.setdefault(PENDING_IN_SESSION, []).append(attachment.id)
    return attachment


def added_pending() -> list[int]:
    """The pending photos this session added since last asked (the request's, to process after it)."""
    return db.session.info.pop(PENDING_IN_SESSION, [])


# -- processing, off the request path -------------------------------------------------------

def process_photos(ids: Iterable[int] | None, commit: Callable[[], None]) -> Counter:
    """Verify, re-encode and store each pending photo of `ids` (None: every one pending), each in
    transactions of its own that `commit` ends; how many were stored, removed (unreadable) or
    found done already (by another worker, or gone with a rollback)."""
    if ids is None:
        with outside_write_lock():
            ids = list(db.session.scalars(select(Attachment.id).where(Attachment.processed_at.is_(None))
                                          .order_by(Attachment.id)))
    outcomes: Counter = Counter()
    for attachment_id in ids:
        outcomes[_process(attachment_id, commit)] += 1
    return outcomes


def _process(attachment_id: int, commit: Callable[[], None]) -> str:
    """One photo: read and decode it without the write lock, then claim it (the row still pending,
    locked on PostgreSQL; SQLite's writer lock) and store it, or remove it if it proves unreadable,
    so that two workers on one photo store it once. Its bytes as uploaded go after the commit."""
    with outside_write_lock():
        row = db.session.get(Attachment, attachment_id)
        if row is None or not row.pending:
            return "done"
        db.session.refresh(row)  # the identity map may hold it as this session last saw it
        if not row.pending:
            return "done"
        raw = _pending_bytes(attachment_id)
    try:
        stored = _image(raw) if raw is not None else None
    except ValidationFailed:  # past the pixel limit once decoded (a header that lied)
        stored = None
    if stored is not None and not in_database():
        _write_file(_sha(stored.data), stored.data)  # by content: harmless if another worker wins
        _write_file(_sha(stored.thumbnail), stored.thumbnail)
    commit()  # ends the reads: the writes below take the write lock (SQLite) in a transaction of their own
    token = write_intent.set(True)
    try:
        claimed = db.session.execute(select(Attachment.id).where(
            Attachment.id == attachment_id, Attachment.processed_at.is_(None)).with_for_update()).first()
        if claimed is None:
            outcome = "done"
        elif stored is not None:
            _stored(attachment_id, stored)
            outcome = "stored"
        else:
            db.session.refresh(row)  # as it stands now (a transition may have taken it since)
            _unreadable(row)
            outcome = "removed"
        commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)
    if row in db.session:  # what it is now is read again when asked (the session keeps what it loads)
        db.session.expunge(row) if outcome == "removed" else db.session.expire(row)
    if outcome != "done":
        _pending_path(attachment_id).unlink(missing_ok=True)
    return outcome


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored(attachment_id: int, stored: Stored) -> None:
    """The claimed photo's row says what is kept; in the database, the bytes replace the upload's."""
    db.session.execute(update(Attachment).where(Attachment.id == attachment_id).values(
        processed_at=now(), sha256=_sha(stored.data), thumb_sha256=_sha(stored.thumbnail),
        size=len(stored.data), content_type=stored.content_type)
        .execution_options(synchronize_session=False))
    if in_database():
        _zero_what_is_deleted()
        db.session.execute(delete(AttachmentBlob).where(AttachmentBlob.attachment_id == attachment_id)
                           .execution_options(synchronize_session=False))
        db.session.add(AttachmentBlob(attachment_id=attachment_id, thumbnail=False, data=stored.data))
        db.session.add(AttachmentBlob(attachment_id=attachment_id, thumbnail=True, data=stored.thumbnail))
    db.session.flush()


def _zero_what_is_deleted() -> None:
    """SQLite: the upload's blob is overwritten with zeros when deleted, not left in a free page
    that a backup copies (Debian builds SQLite so by default; other builds may not)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("PRAGMA secure_delete = ON"))


def _unreadable(row: Attachment) -> None:
    """A photo whose header passed but whose body does not decode (cut off, corrupt): removed, and
    said on the case's timeline, where the unit and the inspector read it (a transition it went
    with stays done: the note tells whoever checks it that its photo is gone)."""
    _zero_what_is_deleted()
    db.session.execute(delete(AttachmentBlob).where(AttachmentBlob.attachment_id == row.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Attachment).where(Attachment.id == row.id)
                       .execution_options(synchronize_session=False))
    case = db.session.get(Case, row.case_id)
    log_event(case, None, PHOTO_REMOVED, {"file": row.filename, "stage": row.stage})
    db.session.flush()


def drop_orphans() -> int:
    """Quarantined files that no pending photo names (a rolled-back upload's, a crash's), once
    older than ORPHAN_AGE (a newer one may belong to an upload not yet committed)."""
    if in_database() or not (folder() / PENDING).is_dir():
        return 0
    with outside_write_lock():
        pending = {str(i) for i in db.session.scalars(
            select(Attachment.id).where(Attachment.processed_at.is_(None)))}
    dropped = 0
    for path in (folder() / PENDING).iterdir():
        try:
            old = path.stat().st_mtime < time.time() - ORPHAN_AGE
        except OSError:
            continue
        if path.name not in pending and old:
            path.unlink(missing_ok=True)
            dropped += 1
    return dropped


def _lock(case: Case) -> None:
    """PostgreSQL: one upload to a case at a time, so the count per item holds."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def _safe_name(filename: str | None, extension: str) -> str:
    """A download name with no path, quotes or control characters, ending as the content is."""
    stem = os.path.splitext(os.path.basename((filename or "").replace("\\", "/")))[0]
    stem = "".join(c for c in stem if c.isprintable() and c not in '"\';')[:150].strip() or "file"
    return f"{stem}{extension}"


def case_attachments(case: Case) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                   .order_by(Attachment.id)))


def get_attachment(user: User, attachment_id: int) -> Attachment:
    """An attachment of a case in the user's scope; any other id is the same 404."""
    attachment = db.session.get(Attachment, attachment_id) if 0 < attachment_id < MAX_ID else None
    if attachment is None:
        raise NotFound(_("No such file."))
    get_case(user, attachment.case_id)
    return attachment


def decode_photos(value: Any) -> list[tuple[io.BytesIO, str]] | None:
    """Photos sent in a JSON body: [{"data": base64, "filename": ...}], at most 9."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > PER_ITEM or not all(
            isinstance(p, dict) and isinstance(p.get("data"), str) and set(p) <= {"data", "filename"}
            and isinstance(p.get("filename", ""), str) for p in value):
        raise ValidationFailed({"photos": _("At most %(n)d photos, each {\"data\": base64, \"filename\": ...}.",
                                            n=PER_ITEM)})
    photos = []
    for p in value:
        try:
            data = base64.b64decode(p["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed({"photos": _("A photo's data must be base64.")}) from None
        photos.append((io.BytesIO(data), p.get("filename", "") or "photo.jpg"))
    return photos
