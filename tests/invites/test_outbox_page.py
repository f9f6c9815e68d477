"""The outbox page shows each mail as its reader sees it; RSVP links only to administrators."""

import email
import html as html_lib
import re

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.core.extensions import db
from vmeeting.invites import service
from vmeeting.outbox import service as outbox
from vmeeting.outbox.models import OutboxMail


@pytest.fixture
def meeting(invited, book):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"],
                title="Giao ban quý")


def _mail(recipient, method="REQUEST"):
    return db.session.scalar(sa.select(OutboxMail).where(OutboxMail.recipient == recipient,
                                                         OutboxMail.method == method).order_by(OutboxMail.id.desc()))


def test_a_scheduler_reads_the_invite_without_its_rsvp_link(app, client, login_as, meeting):
    login_as("scheduler")
    mail_row = _mail("xa0@langson.gov.vn")
    token = service.rsvp_token(meeting, "xa0@langson.gov.vn")
    # the ORGANIZER address' token answers in the attendee's name too (invites.addresses)
    reply_token = service.reply_address(meeting.uid, "xa0@langson.gov.vn").split("+")[1].split("@")[0]
    page = client.get(f"/outbox/{mail_row.id}").get_data(as_text=True)
    assert 'data-testid="mail-method">REQUEST' in page and "Giao ban quý" in page
    assert "Thứ Hai" in page and "08:00" in page and "UBND xã Hòa Bình" in page  # when, and the site
    assert 'sandbox' in re.search(r'<iframe[^>]*data-testid="mail-html"', page).group(0)
    assert 'data-testid="mail-source"' in page and "Content-Type: multipart/mixed" in page
    html = client.get(f"/outbox/{mail_row.id}/html")
    assert html.status_code == 200 and "Kính mời" in html.get_data(as_text=True)
    policy = html.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy and "default-src 'none'" in policy
    assert html.headers["X-Frame-Options"] == "SAMEORIGIN"
    # the token is a credential to answer in the attendee's name: nowhere on either page, in no encoding
    unfolded = page.replace("=\r\n", "").replace("=\n", "").replace("\r\n ", "").replace("\n ", "")
    for shown in (unfolded, html.get_data(as_text=True)):
        assert token not in shown and token[-20:] not in shown and "/rsvp/[...]" in shown
        assert reply_token not in shown
    source = re.search(r'data-testid="mail-source">.*?<pre[^>]*>(.*?)</pre>', page, re.S).group(1)
    parts = [p for p in email.message_from_string(html_lib.unescape(source)).walk() if not p.is_multipart()]
    assert {p.get_content_type() for p in parts} == {"text/plain", "text/html", "text/calendar", "application/ics"}
    for part in parts:  # quoted-printable and base64 alike, the calendar folded at 75 octets too
        decoded = part.get_payload(decode=True).decode().replace("\r\n ", "")
        assert token[:12] not in decoded and "/rsvp/[...]" in decoded
        assert reply_token[:8] not in decoded
        if part.get_content_type() == "text/calendar":
            assert "+[...]@" in decoded


def test_an_administrator_sees_the_rsvp_link(app, client, login_as, meeting):
    login_as("admin")
    mail_row = _mail("xa0@langson.gov.vn")
    token = service.rsvp_token(meeting, "xa0@langson.gov.vn")
    assert token in client.get(f"/outbox/{mail_row.id}/html").get_data(as_text=True)
    assert token in client.get(f"/outbox/{mail_row.id}").get_data(as_text=True).replace("=\r\n", "")



def test_a_cancelled_sitting_is_summarised_with_its_recurrence_id(app, client, login_as, invited, book):
    series = book([invited["hall"]], next_monday(), recurrence="FREQ=WEEKLY;COUNT=3", title="Giao ban tuần")
    db.session.execute(sa.update(OutboxMail).values(status="sent"))  # the series went out
    booking.cancel_occurrence(series.occurrences[1])
    db.session.commit()
    login_as("scheduler")
    page = client.get(f"/outbox/{_mail('vanphong@langson.gov.vn', 'CANCEL').id}").get_data(as_text=True)
    assert 'data-testid="mail-method">CANCEL' in page and 'data-testid="mail-recurrence-id"' in page
    assert "CANCELLED" in page


@pytest.mark.parametrize("role,status", [("admin", 200), ("scheduler", 200), ("technician", 403), ("viewer", 403)])
def test_the_mail_html_by_role(app, client, login_as, meeting, role, status):
    login_as(role)
    assert client.get(f"/outbox/{_mail('xa0@langson.gov.vn').id}/html").status_code == status


@pytest.mark.browser
def test_the_html_part_runs_no_script(app, page, make_user, invited):
    from tests.conftest import PASSWORD

    mail_row = outbox.enqueue_plain("test:script", None, "a@example.vn", "A", "Thư thử", "Văn bản",
                                   html='<p id="greeting">Xin chào</p><script>'
                                             'document.getElementById("greeting").textContent = "ran";'
                                             'parent.document.body.dataset.reached = "yes";</script>')
    db.session.commit()
    user = make_user("scheduler")
    page.goto("/login")
    page.fill("#username", user.username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/outbox/{mail_row.id}")
    frame = page.frame_locator('[data-testid="mail-html"]')
    assert frame.locator("#greeting").text_content() == "Xin chào"
    assert page.evaluate("document.body.dataset.reached") is None
