"""Plain mails through the outbox (the readiness escalation): text only, queued once, never superseded."""

import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.outbox import service as outbox
from vmeeting.outbox.delivery import deliver_outbox
from vmeeting.outbox.models import OutboxMail

TEXT = "Cuộc họp «Giao ban» bắt đầu lúc 08:00.\n- UBND xã Mai Sao: Có sự cố: Mất tiếng.\n"


def _queue(meeting, key="readiness-escalation:1:x:ktv.chilang@example.vn", **extra):
    return outbox.enqueue_plain(key=key, meeting_id=meeting.id, recipient="KTV.ChiLang@example.vn",
                                recipient_name="Hoàng Văn Kỹ", subject="[Cảnh báo] 1/3 điểm cầu chưa sẵn sàng",
                                text=TEXT, **extra)


def _plain_rows():
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.method.is_(None))).all()


def test_plain_mail_is_queued_once_and_sent_without_a_calendar(app, smtp, invited, book):
    meeting = book([invited["hall"], *invited["communes"][:2]], next_monday())
    first = _queue(meeting)
    again = _queue(meeting)
    db.session.commit()
    assert again.id == first.id and len(_plain_rows()) == 1
    assert first.recipient == "ktv.chilang@example.vn" and first.is_invite is False
    deliver_outbox()
    [message] = [m for m in smtp.to("ktv.chilang@example.vn") if m["Subject"].startswith("[Cảnh báo]")]
    assert message.get_content_type() == "text/plain"
    assert [part.get_content_type() for part in message.walk()] == ["text/plain"]
    assert message.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"]
    assert "Hoàng Văn Kỹ" in str(message["To"])
    assert _plain_rows()[0].status == "sent"
    deliver_outbox()  # sent is sent: the next tick finds nothing to do
    assert len([m for m in smtp.to("ktv.chilang@example.vn") if m["Subject"].startswith("[Cảnh báo]")]) == 1


def test_plain_mail_with_html_is_an_alternative_of_text_and_html(app, smtp, invited, book):
    meeting = book([invited["hall"]], next_monday())
    _queue(meeting, html="<p>Cuộc họp <b>Giao ban</b></p>")
    db.session.commit()
    deliver_outbox()
    [message] = [m for m in smtp.to("ktv.chilang@example.vn") if m["Subject"].startswith("[Cảnh báo]")]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]


def test_a_new_invite_does_not_supersede_a_pending_plain_mail(app, invited, book):
    meeting = book([invited["hall"], *invited["communes"][:2]], next_monday())
    _queue(meeting)
    db.session.commit()
    choice = booking.resolve_sites(endpoint_ids=[invited["hall"].id, invited["communes"][0].id])
    booking.update_meeting(meeting, {"title": "Giao ban tháng"}, choice)
    db.session.commit()
    [plain] = _plain_rows()
    assert plain.status == "pending"
    older_invites = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.recipient == "ktv.chilang@example.vn",
                                                                   OutboxMail.sequence == 0,
                                                                   OutboxMail.method == "REQUEST")).all()
    assert {m.status for m in older_invites} == {"superseded"}


def test_long_vietnamese_names_and_subjects_fold_into_short_encoded_words(app):
    from email import message_from_string
    from email.header import decode_header, make_header
    from email.utils import parseaddr

    from vmeeting.outbox import mail

    name = "Ủy ban nhân dân xã Đồng Tâm, huyện Bình Gia – Phòng họp trực tuyến số hai, tầng ba"
    subject = "[Cảnh báo] 12/213 điểm cầu chưa sẵn sàng – Hội nghị trực tuyến toàn tỉnh triển khai nhiệm vụ"
    wire = mail.build_plain_message(key="k", recipient="xa@langson.gov.vn", recipient_name=name, subject=subject,
                                    text=TEXT)
    head = wire.split("\r\n\r\n", 1)[0]
    assert wire.isascii() and max(len(line) for line in head.split("\r\n")) <= 78
    words = [w for line in head.split("\r\n") for w in line.split() if w.startswith("=?")]
    assert words and max(len(w.rstrip(",")) for w in words) <= 75  # RFC 2047's limit per encoded word
    parsed = message_from_string(wire)
    assert str(make_header(decode_header(parsed["Subject"]))) == subject
    # the comma sits inside the encoded words, where it is text, not a list separator
    assert parseaddr(parsed["To"])[1] == "xa@langson.gov.vn"
    assert str(make_header(decode_header(parsed["To"]))) == f"{name} <xa@langson.gov.vn>"
