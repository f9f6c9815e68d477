"""Invite pages and routes: RSVP, feeds with ETag, the outbox, the .ics download, the API, roles."""

import re

import icalendar
import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking import service as booking
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites import answers, feeds, service
from vmeeting.outbox import service as outbox
from vmeeting.invites.models import InviteResponse
from vmeeting.outbox.models import OutboxMail
from vmeeting.outbox.service import message_for_display


@pytest.fixture
def meeting(invited, book):
    return book([invited["hall"], *invited["communes"][:2]], next_monday(), attendees=["khach@example.com"])


def _rsvp_path(meeting, email):
    mail_row = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.recipient == email))
    text = message_for_display(mail_row).replace("=\r\n", "").replace("=\n", "")
    token = re.search(r"/rsvp/([A-Za-z0-9_.\-]+)", text).group(1)
    assert token == service.rsvp_token(meeting, email)
    return f"/rsvp/{token}"


def _form_token(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_rsvp_accept_then_decline_without_signing_in(app, client, meeting, make_user, login):
    path = _rsvp_path(meeting, "xa0@langson.gov.vn")
    page = client.get(path)
    assert page.status_code == 200 and db.session.scalar(sa.select(sa.func.count(InviteResponse.id))) == 0
    html = page.get_data(as_text=True)
    assert client.post(path, data={"partstat": "ACCEPTED"}).status_code == 400  # no CSRF token
    answer = client.post(path, data={"partstat": "ACCEPTED", "csrf_token": _form_token(html)})
    assert answer.status_code == 302
    assert service.answers_of(meeting) == {"xa0@langson.gov.vn": "ACCEPTED"}
    html = client.get(path).get_data(as_text=True)
    client.post(path, data={"partstat": "DECLINED", "comment": "Bận họp HĐND", "csrf_token": _form_token(html)})
    assert service.answers_of(meeting) == {"xa0@langson.gov.vn": "DECLINED"}
    login(make_user("viewer"))
    shown = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'data-testid="invite-answers"' in shown and "Không tham dự" in shown and "Bận họp HĐND" in shown


def test_rsvp_tentative_and_a_bad_answer(app, client, meeting):
    path = _rsvp_path(meeting, "xa0@langson.gov.vn")
    html = client.get(path).get_data(as_text=True)
    assert 'data-testid="rsvp-tentative"' in html
    client.post(path, data={"partstat": "TENTATIVE", "comment": "Có thể đến muộn", "csrf_token": _form_token(html)})
    answer = db.session.scalar(sa.select(InviteResponse))
    assert (answer.partstat, answer.source, answer.comment) == ("TENTATIVE", "link", "Có thể đến muộn")
    assert "Chưa chắc chắn" in client.get(path).get_data(as_text=True)
    refused = client.post(path, data={"partstat": "NEEDS-ACTION", "csrf_token": _form_token(html)})
    assert refused.status_code == 200 and "Chọn tham dự, chưa chắc chắn hoặc không tham dự." in refused.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(InviteResponse.partstat)) == "TENTATIVE"


def test_a_tampered_rsvp_link_is_refused(app, client, meeting):
    path = _rsvp_path(meeting, "xa0@langson.gov.vn")
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    forged = answers._serializer().dumps({"m": meeting.id, "u": "other@vmeeting", "e": "x@example.com"})
    assert client.get(f"/rsvp/{forged}").status_code == 404
    assert client.get("/rsvp/nonsense").status_code == 404


def test_rsvp_only_from_someone_still_invited_to_a_meeting_ahead(app, meeting, invited):
    removed = "xa1@langson.gov.vn"
    assert service.read_rsvp_token(service.rsvp_token(meeting, removed)) == (meeting, removed)
    booking.update_meeting(meeting, {}, booking.resolve_sites(endpoint_ids=[invited["hall"].id,
                                                                             invited["communes"][0].id]))
    db.session.commit()
    with pytest.raises(ValidationError) as raised:
        service.record_answer(meeting, removed, "ACCEPTED")
    assert "không còn trong danh sách mời" in raised.value.fields["partstat"]
    db.session.rollback()
    service.record_answer(meeting, "xa0@langson.gov.vn", "ACCEPTED")  # still invited
    db.session.commit()

    for occurrence in meeting.occurrences:  # time passes
        occurrence.starts_at, occurrence.ends_at = (occurrence.starts_at.replace(year=2020),
                                                    occurrence.ends_at.replace(year=2020))
    db.session.commit()
    with pytest.raises(ValidationError) as raised:
        service.record_answer(meeting, "xa0@langson.gov.vn", "DECLINED")
    assert "đã kết thúc" in raised.value.fields["partstat"]


@pytest.mark.parametrize("kind", ["endpoint", "technician", "unit"])
def test_feed_etag_304_and_revocation(app, client, meeting, invited, district, kind):
    target = {"endpoint": invited["communes"][0].id, "technician": invited["technician"].id,
              "unit": district.id}[kind]
    feed, token = feeds.create_feed(kind, target, None)
    db.session.commit()
    assert len(token) >= 40 and feed.token_hash != token
    first = client.get(f"/calendar/{token}.ics")
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    event = icalendar.Calendar.from_ical(first.data).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid
    etag = first.headers["ETag"]
    assert client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/calendar/{token}.ics",
                      headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    # the test's own read began before the first GET recorded the feed's ETag (a writer of its own): end it,
    # as any request's transaction ends, before this session writes (SQLite cannot turn that read into a write)
    db.session.rollback()
    booking.update_meeting(meeting, {"title": "Giao ban đổi tên"})
    db.session.commit()
    changed = client.get(f"/calendar/{token}.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and "Giao ban đổi tên" in changed.get_data(as_text=True)
    db.session.rollback()  # as above: the request, run in the test's session, read before its ETag was recorded
    feeds.revoke_feed(feed)
    db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_feed_pages_by_role(client, login_as, invited, make_user, browser):
    viewer = browser(make_user("viewer"))
    assert viewer.get("/calendar-feeds").status_code == 403
    scheduler = login_as("scheduler")
    page = client.get("/calendar-feeds")
    assert page.status_code == 200
    created = client.post("/calendar-feeds", data={"kind": "endpoint", "target_id": invited["hall"].id,
                                                   "csrf_token": _form_token(page.get_data(as_text=True))})
    url = re.search(r'value="(http[^"]+/calendar/[^"]+\.ics)"', created.get_data(as_text=True)).group(1)
    db.session.commit()  # the feed records its validator on a connection of its own: nothing may hold the lock
    assert client.get(url.split("5000", 1)[1]).status_code == 200
    assert scheduler


def test_technician_manages_only_their_own_feed(app, client, login, invited, make_user):
    other = make_user("technician")
    feed_of_other, _token = feeds.create_feed("technician", other.id, None)
    db.session.commit()
    login(invited["technician"])
    page = client.get("/calendar-feeds")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and feed_of_other.prefix not in html
    csrf = _form_token(html)
    assert client.post("/calendar-feeds", data={"kind": "unit", "target_id": 1, "csrf_token": csrf}).status_code == 403
    assert client.post(f"/calendar-feeds/{feed_of_other.id}/revoke", data={"csrf_token": csrf}).status_code == 403
    mine = client.post("/calendar-feeds", data={"kind": "technician", "csrf_token": csrf})
    assert mine.status_code == 200 and "/calendar/" in mine.get_data(as_text=True)


@pytest.mark.parametrize("role,status", [("admin", 200), ("scheduler", 200), ("technician", 403), ("viewer", 403)])
def test_outbox_pages_by_role(app, client, login_as, meeting, role, status):
    login_as(role)
    assert client.get("/outbox").status_code == status
    mail_id = db.session.scalar(sa.select(OutboxMail.id).limit(1))
    assert client.get(f"/outbox/{mail_id}").status_code == status
    if status == 200:
        html = client.get("/outbox").get_data(as_text=True)
        assert 'data-testid="smtp-off"' in html and html.count('data-testid="outbox-row"') == 6


def test_anonymous_is_sent_to_sign_in(app, client, meeting):
    for path in ("/outbox", "/calendar-feeds", f"/meetings/{meeting.id}/invite.ics"):
        assert client.get(path).status_code == 302


def test_retry_a_failed_mail(app, client, login_as, meeting):
    mail_row = db.session.scalar(sa.select(OutboxMail).limit(1))
    outbox.mark_attempt_failed(mail_row, "550 no", permanent=True)
    db.session.commit()
    page = login_as("scheduler") and client.get("/outbox?status=failed")
    response = client.post(f"/outbox/{mail_row.id}/retry", data={"csrf_token": _form_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    db.session.refresh(mail_row)
    assert mail_row.status == "pending" and mail_row.attempt_count == 0
    assert f"Thư đến {mail_row.recipient} sẽ được gửi lại." in client.get("/outbox").get_data(as_text=True)


def test_retry_says_so_in_english(app, client, login_as, meeting):
    mail_row = db.session.scalar(sa.select(OutboxMail).limit(1))
    outbox.mark_attempt_failed(mail_row, "550 no", permanent=True)
    db.session.commit()
    page = login_as("scheduler") and client.get("/outbox?status=failed")
    token = _form_token(page.get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": token})
    client.post(f"/outbox/{mail_row.id}/retry", data={"csrf_token": token})
    assert f"The mail to {mail_row.recipient} will be sent again." in client.get("/outbox").get_data(as_text=True)


def test_meeting_ics_download_and_api(app, client, login_as, api_headers, meeting):
    login_as("viewer")
    download = client.get(f"/meetings/{meeting.id}/invite.ics")
    assert download.status_code == 200 and download.mimetype == "text/calendar"
    assert str(icalendar.Calendar.from_ical(download.data).walk("VEVENT")[0]["UID"]) == meeting.uid
    api = client.get(f"/api/v1/meetings/{meeting.id}/invite.ics", headers=api_headers("viewer"))
    assert api.status_code == 200 and api.mimetype == "text/calendar"
    assert client.get(f"/api/v1/meetings/{meeting.id}/invite.ics").status_code == 401
    missing = client.get("/api/v1/meetings/999999/invite.ics", headers=api_headers("viewer"))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"]


def _rsvp_page_refuses(client, path, reason):
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 410 and 'data-testid="rsvp-closed"' in html and reason in html
    assert 'data-testid="rsvp-accept"' not in html  # no form to fill in vain
    from tests.conftest import csrf_token

    posted = client.post(path, data={"partstat": "DECLINED", "csrf_token": csrf_token(client, "/login")})
    assert posted.status_code == 410


@pytest.mark.parametrize("how", ["cancelled", "ended", "site taken off"])
def test_an_rsvp_link_that_can_no_longer_answer_shows_why(app, client, meeting, invited, how):
    path = _rsvp_path(meeting, "xa1@langson.gov.vn")
    service.record_answer(meeting, "xa1@langson.gov.vn", "ACCEPTED")
    db.session.commit()
    if how == "cancelled":
        booking.cancel_meeting(meeting)
        reason = "Cuộc họp đã bị hủy."
    elif how == "ended":
        for occurrence in meeting.occurrences:
            occurrence.starts_at, occurrence.ends_at = (occurrence.starts_at.replace(year=2020),
                                                        occurrence.ends_at.replace(year=2020))
        reason = "Cuộc họp đã kết thúc."
    else:
        booking.update_meeting(meeting, {}, booking.resolve_sites(
            endpoint_ids=[invited["hall"].id, invited["communes"][0].id]))
        reason = "không còn trong danh sách mời"
    db.session.commit()
    _rsvp_page_refuses(client, path, reason)
    assert service.answers_of(meeting) == {"xa1@langson.gov.vn": "ACCEPTED"}  # the answer given stays


@pytest.mark.parametrize("role, in_menu", [("admin", True), ("scheduler", True), ("technician", True),
                                           ("viewer", False)])
def test_the_feeds_are_in_the_menu_and_each_site_and_unit_links_its_calendars(client, login_as, invited, district,
                                                                              role, in_menu):
    hall = invited["hall"]
    login_as(role)
    home = client.get("/").get_data(as_text=True)
    assert ('href="/calendar-feeds"' in home) is in_menu
    endpoint_page = client.get(f"/endpoints/{hall.id}").get_data(as_text=True)
    assert f'href="/calendar?endpoint_id={hall.id}"' in endpoint_page
    units_page = client.get("/units").get_data(as_text=True)
    assert f'href="/calendar?unit_id={district.id}"' in units_page
    may_book = role in ("admin", "scheduler")
    assert (f'href="/calendar-feeds?kind=endpoint&amp;target_id={hall.id}"' in endpoint_page) is may_book
    assert (f'href="/calendar-feeds?kind=unit&amp;target_id={district.id}"' in units_page) is may_book
    if may_book:  # the link lands with the site chosen in the feed form
        page = client.get(f"/calendar-feeds?kind=endpoint&target_id={hall.id}").get_data(as_text=True)
        assert '<option value="endpoint" selected>' in page and f'<option value="{hall.id}" selected>' in page
        assert client.get("/calendar-feeds?kind=nope&target_id=99999999999999999999").status_code == 200


def test_a_feed_refused_by_the_service_reads_in_the_page_language(client, login_as, get_csrf):
    """No such site, no such kind: English on the English feeds page, Vietnamese on the Vietnamese one."""
    login_as("scheduler")
    client.post("/lang/en", data={"csrf_token": get_csrf("/calendar-feeds")})
    token = get_csrf("/calendar-feeds")
    page = client.post("/calendar-feeds", data={"kind": "endpoint", "target_id": 999999, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "There is no such site." in page and "Không có điểm cầu này." not in page
    page = client.post("/calendar-feeds", data={"kind": "room", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Choose the kind of calendar: site, technician or unit." in page and "Chọn loại lịch" not in page
    with pytest.raises(ValidationError) as refused:
        feeds.create_feed("endpoint", 999999, None)
    assert refused.value.fields == {"target_id": "Không có điểm cầu này."}  # the service's words stay Vietnamese
    client.post("/lang/vi", data={"csrf_token": token})
    page = client.post("/calendar-feeds", data={"kind": "endpoint", "target_id": 999999, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Không có điểm cầu này." in page


def test_an_rsvp_refusal_reads_in_the_page_language(app, client, meeting):
    """The reason a link can no longer answer, and a bad answer, in English once the reader chose English."""
    path = _rsvp_path(meeting, "xa0@langson.gov.vn")
    token = _form_token(client.get(path).get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": token})
    refused = client.post(path, data={"partstat": "NEEDS-ACTION", "csrf_token": token}).get_data(as_text=True)
    assert "Choose attend, tentative or decline." in refused and "Chọn tham dự" not in refused
    client.post(path, data={"partstat": "DECLINED", "csrf_token": token})
    booking.cancel_meeting(meeting)
    db.session.commit()
    closed = client.get(path)
    html = closed.get_data(as_text=True)
    assert closed.status_code == 410 and "The meeting was cancelled." in html and "Cuộc họp đã bị hủy." not in html
    assert "<strong>Decline</strong>" in html and "Không tham dự" not in html  # the answer given, in English
    assert service.answer_refusal(meeting, "xa0@langson.gov.vn") == "Cuộc họp đã bị hủy."


def test_the_outbox_says_its_refusals_and_notes_in_the_page_language(app, client, login_as, meeting):
    """Retrying a mail that did not fail, a superseded mail's note: English on the English outbox."""
    pending, superseded = db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id).limit(2)).all()
    superseded.status, superseded.last_error = "superseded", outbox.SUPERSEDED_NOTE
    db.session.commit()
    page = login_as("scheduler") and client.get("/outbox")
    token = _form_token(page.get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": token})
    html = client.post(f"/outbox/{pending.id}/retry", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Only a failed mail can be sent again." in html and "Chỉ gửi lại được" not in html
    assert "A newer mail went to this person." in html and outbox.SUPERSEDED_NOTE not in html
    client.post("/lang/vi", data={"csrf_token": token})
    assert outbox.SUPERSEDED_NOTE in client.get("/outbox").get_data(as_text=True)
