"""The documents of a meeting: its basis document, its giấy mời (draft settings and issue), office templates."""

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vmeeting.booking.models import Meeting
from vmeeting.core.database import UTCDateTime, utcnow
from vmeeting.core.extensions import db

BASIS_SOURCES = ("typed", "edxml")


class BasisDocument(db.Model):
    """The văn bản căn cứ a meeting is called on: typed in, or read from an .edxml (QCVN 102:2016/BTTTT)."""

    __tablename__ = "basis_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), unique=True)
    #: số, ký hiệu: "125/UBND-KGVX"
    number: Mapped[str] = mapped_column(sa.String(100))
    #: ngày ban hành (a local date)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    #: cơ quan ban hành: "Ủy ban nhân dân tỉnh Lạng Sơn"
    issuer: Mapped[str] = mapped_column(sa.String(300))
    #: trích yếu nội dung
    summary: Mapped[str] = mapped_column(sa.String(1000))
    source: Mapped[str] = mapped_column(sa.String(10), default="typed")
    #: the document's PDF, if the clerk has it
    pdf: Mapped[Optional[bytes]] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_name: Mapped[Optional[str]] = mapped_column(sa.String(200))
    updated_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()

    __table_args__ = (sa.CheckConstraint(sa.column("source").in_(BASIS_SOURCES), name="source"),)


class InvitationLetter(db.Model):
    """A meeting's giấy mời: what the draft says beyond the booking, and once iOffice issued it, its number.

    The draft fields are the clerk's (who signs, who attends per level); the
    numbered and signed original stays in iOffice (the province's document
    system): `number`, `issued_on` and the signed PDF are recorded from it.
    """

    __tablename__ = "invitation_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), unique=True)
    #: tên cơ quan chủ quản cấp trên trực tiếp (may be empty) and tên cơ quan ban hành, as written (NFC)
    parent_body: Mapped[str] = mapped_column(sa.String(300), default="")
    issuing_body: Mapped[str] = mapped_column(sa.String(300), default="")
    #: the body's part of the ký hiệu: "UBND" gives "Số:      /GM-UBND"
    notation: Mapped[str] = mapped_column(sa.String(40), default="")
    #: who chairs: "Đồng chí Nguyễn Văn A, Chủ tịch UBND tỉnh"
    chair_person: Mapped[str] = mapped_column(sa.String(500), default="")
    #: who attends at the provincial (chairing) site, at the district sites, at the commune sites
    attendees_province: Mapped[str] = mapped_column(sa.Text, default="")
    attendees_district: Mapped[str] = mapped_column(sa.Text, default="")
    attendees_commune: Mapped[str] = mapped_column(sa.Text, default="")
    #: the technical contact: a name and a phone
    technical_contact: Mapped[str] = mapped_column(sa.String(500), default="")
    #: quyền hạn ("TL. CHỦ TỊCH", may be empty), chức vụ, họ tên of the signer
    signer_authority: Mapped[str] = mapped_column(sa.String(200), default="")
    signer_title: Mapped[str] = mapped_column(sa.String(200), default="")
    signer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Nơi nhận, one recipient a line ("Lưu: VT" is added)
    recipients: Mapped[str] = mapped_column(sa.Text, default="")
    #: as iOffice numbered it: "12/GM-UBND", and the day it was issued
    issued_number: Mapped[Optional[str]] = mapped_column(sa.String(100))
    issued_on: Mapped[Optional[date]] = mapped_column(sa.Date)
    signed_pdf: Mapped[Optional[bytes]] = mapped_column(sa.LargeBinary, deferred=True)
    signed_pdf_name: Mapped[Optional[str]] = mapped_column(sa.String(200))
    #: send the signed PDF with the invites mailed from now on
    is_pdf_attached: Mapped[bool] = mapped_column(default=False)
    issued_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()

    @property
    def is_issued(self):
        return bool(self.issued_number)


class LetterTemplate(db.Model):
    """An office's own giấy mời template (.docx with docxtpl tags); the latest upload is the one used."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: False once another is uploaded or the default restored; kept for the audit
    is_active: Mapped[bool] = mapped_column(default=True)
