"""Photos and documents on cases, their bytes when kept in the database, and the first answer
of each idempotent create."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db

STAGES = ("before", "after", "document")


class Attachment(db.Model):
    """A photo (re-encoded JPEG with a thumbnail) or a document (PDF, Office) on a case; bound to
    the transition it proved (`event_id`) once that transition is fired. A photo is pending
    (`processed_at` none) from its upload until it is verified and re-encoded off the request
    path (services/casework/attachments.py): its bytes as received are kept apart, never served."""
    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint(f"stage IN {STAGES}", name="stage"),
                      CheckConstraint("processed_at IS NULL OR sha256 IS NOT NULL", name="processed_hash"),
                      Index("ix_attachments_case_id_id", "case_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_events.id"), comment="the transition these photos went with; none: the case's own")
    stage: Mapped[str] = mapped_column(String(12), comment="before (整改前), after (整改后) or document")
    caption: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(200), default="", comment="as uploaded, for documents")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(comment="bytes as stored (a pending photo: as received)")
    sha256: Mapped[str | None] = mapped_column(
        String(64), comment="of the stored bytes: their name in the folder; none while pending")
    thumb_sha256: Mapped[str | None] = mapped_column(String(64), comment="of the thumbnail; none for documents")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="when the photo was verified and stored; none: pending (a photo as uploaded)")

    event = relationship("CaseEvent")

    @hybrid_property
    def is_image(self) -> bool:
        """A photo, stored (it has a thumbnail) or pending (only photos wait to be processed)."""
        return self.thumb_sha256 is not None or self.processed_at is None

    @is_image.inplace.expression
    @classmethod
    def _is_image_expression(cls):
        return or_(cls.thumb_sha256.is_not(None), cls.processed_at.is_(None))

    @property
    def pending(self) -> bool:
        return self.processed_at is None


class AttachmentBlob(db.Model):
    """The bytes of an attachment or its thumbnail, with CASETRACK_ATTACHMENTS=database."""
    __tablename__ = "attachment_blobs"

    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), primary_key=True)
    thumbnail: Mapped[bool] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotentRequest(db.Model):
    """(user, Idempotency-Key) -> the body's hash and the first answer, kept 24 hours."""
    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_requests_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(60), comment="the operation the key was used for")
    body_hash: Mapped[str] = mapped_column(String(64), comment="sha256 of the canonical JSON body")
    status: Mapped[int] = mapped_column(comment="the first answer's HTTP status")
    response: Mapped[str] = mapped_column(Text, comment="the first answer's JSON")
    location: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user = relationship("User")
