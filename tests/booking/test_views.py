"""Booking pages: access per role, the form's preview, conflicts and their ways on, the calendar."""

from datetime import timedelta, timezone
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from tests.booking.conftest import next_monday
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.extensions import db


@pytest.fixture
def meeting(sites, book):
    return book([sites["hall"], *sites["communes"][:2]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=2")


def routes(meeting):
    occurrence = meeting.occurrences[0]
    base = f"/meetings/{meeting.id}"
    return {
        ("GET", "/calendar"): "meetings.view",
        ("GET", "/calendar?view=month"): "meetings.view",
        ("GET", "/meetings"): "meetings.view",
        ("GET", base): "meetings.view",
        ("GET", "/meetings/new"): "meetings.book",
        ("GET", f"{base}/edit"): "meetings.book",
        ("GET", f"{base}/occurrences/{occurrence.id}/move"): "meetings.book",
        ("GET", f"{base}/cancel"): "meetings.book",
        ("GET", f"{base}/occurrences/{occurrence.id}/cancel"): "meetings.book",
        ("POST", f"{base}/occurrences/{occurrence.id}/cancel"): "meetings.book",
        ("POST", f"{base}/cancel"): "meetings.book",
    }


ALLOWED = {"meetings.view": {"admin", "scheduler", "technician", "viewer"}, "meetings.book": {"admin", "scheduler"}}


@pytest.mark.parametrize("role", ["anonymous", "admin", "scheduler", "technician", "viewer"])
def test_every_booking_route_checks_the_role(client, login_as, meeting, get_csrf, role):
    if role != "anonymous":
        login_as(role)
    for (method, path), permission in routes(meeting).items():
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": get_csrf("/login") if role == "anonymous" else get_csrf("/meetings")})
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
        elif role in ALLOWED[permission]:
            # a cancel without its confirmation box answers 400 and changes nothing
            assert response.status_code in (200, 302) or (path.endswith("/cancel") and response.status_code == 400), (
                path, role, response.status_code)
        else:
            assert response.status_code == 403, (path, role)


def form_data(sites, start, token, **extra):
    data = {"csrf_token": token, "title": "Hội nghị triển khai nhiệm vụ", "day": start.strftime("%d/%m/%Y"),
            "start_time": start.strftime("%H:%M"), "end_time": (start + timedelta(hours=1)).strftime("%H:%M"),
            "chair_endpoint_id": str(sites["hall"].id), "setup_minutes": "30", "action": "book"}
    data.update(extra)
    return data


def test_preview_then_book_a_district(client, login_as, sites, district, get_csrf):
    login_as("scheduler")
    start = next_monday(8)
    token = get_csrf("/meetings/new")
    preview = client.post("/meetings/new", data=form_data(sites, start, token, unit_ids=str(district.id), action="preview"))
    assert preview.status_code == 200
    assert 'data-testid="site-count">4<' in preview.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0

    booked = client.post("/meetings/new", data=form_data(sites, start, token, unit_ids=str(district.id)))
    assert booked.status_code == 302
    meeting = db.session.scalars(sa.select(Meeting)).one()
    assert meeting.endpoint_count == 5  # four communes and the chairing hall
    assert meeting.starts_at == start.astimezone(meeting.starts_at.tzinfo)
    page = client.get(booked.headers["Location"]).get_data(as_text=True)
    assert "Huyện Chi Lăng" in page and "UBND xã Hòa Bình" in page


def test_conflict_offers_skipping_busy_sites_and_free_slots(client, login_as, sites, district, book, get_csrf):
    busy = sites["communes"][0]
    start = next_monday(8)
    book([busy], start, chair=busy, title="Họp xã")
    login_as("scheduler")
    token = get_csrf("/meetings/new")
    response = client.post("/meetings/new", data=form_data(sites, start, token, unit_ids=str(district.id)))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Họp xã" in html and busy.name in html
    assert 'data-testid="suggested-slot"' in html and 'value="' + start.strftime("%Y-%m-%d") + 'T09:30"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1

    skipped = client.post("/meetings/new", data=form_data(sites, start, token, unit_ids=str(district.id), action="skip_busy"))
    assert skipped.status_code == 302
    newest = db.session.scalars(sa.select(Meeting).order_by(Meeting.id.desc())).first()
    assert busy.id not in {e.id for e in newest.endpoints} and newest.endpoint_count == 4


def test_picking_a_suggested_slot_reviews_it_then_books_there(client, login_as, sites, book, get_csrf):
    a = sites["communes"][0]
    start = next_monday(8)
    book([a], start, chair=a)
    login_as("scheduler")
    token = get_csrf("/meetings/new")
    later = start + timedelta(hours=2, minutes=30)
    meetings = db.session.scalar(sa.select(sa.func.count()).select_from(Meeting))
    review = client.post("/meetings/new", data=form_data(
        sites, start, token, endpoint_ids=str(a.id), slot=later.strftime("%Y-%m-%dT%H:%M")))
    assert review.status_code == 200  # reviewed, not booked: the time asked → the slot, the people told
    html = review.get_data(as_text=True)
    assert 'data-testid="slot-review"' in html and f"{later:%d/%m/%Y %H:%M}–" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == meetings
    # the form now holds the slot's time: confirming posts it as it stands
    response = client.post("/meetings/new", data=form_data(
        sites, later, token, endpoint_ids=str(a.id), action="book"))
    assert response.status_code == 302
    newest = db.session.scalars(sa.select(Meeting).order_by(Meeting.id.desc())).first()
    assert newest.starts_at == later.astimezone(newest.starts_at.tzinfo)
    assert newest.ends_at - newest.starts_at == timedelta(hours=1)


@pytest.mark.parametrize("field, value, reason", [
    ("day", "31/02/2026", "Ngày họp"),
    ("end_time", "07:00", "Giờ kết thúc phải sau giờ bắt đầu."),
    ("chair_endpoint_id", "0", "Chọn điểm cầu chủ tọa."),
    ("title", "", "Nhập tên cuộc họp."),
])
def test_bad_input_shows_the_reason_and_stores_nothing(client, login_as, sites, get_csrf, field, value, reason):
    login_as("scheduler")
    data = form_data(sites, next_monday(8), get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id))
    data[field] = value
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True) or field == "day"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_weekly_series_from_the_form(client, login_as, sites, get_csrf):
    login_as("scheduler")
    start = next_monday(8)
    response = client.post("/meetings/new", data=form_data(
        sites, start, get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id), frequency="WEEKLY",
        weekdays=["MO", "TH"], repeat_count="4"))
    assert response.status_code == 302
    occurrences = db.session.scalars(sa.select(Occurrence).order_by(Occurrence.starts_at)).all()
    assert [o.starts_at.astimezone(start.tzinfo).strftime("%a %H:%M") for o in occurrences] == [
        "Mon 08:00", "Thu 08:00", "Mon 08:00", "Thu 08:00"]


def test_calendar_views_show_meetings(client, login_as, meeting, sites):
    login_as("viewer")
    day = next_monday(8).date()
    for view in ("month", "week", "day"):
        html = client.get(f"/calendar?view={view}&date={day.isoformat()}").get_data(as_text=True)
        assert "Giao ban" in html, view
    assert "Giao ban" in client.get(f"/calendar?date={day.isoformat()}&endpoint_id={sites['hall'].id}").get_data(as_text=True)
    other = sites["communes"][3]
    assert "Giao ban" not in client.get(f"/calendar?date={day.isoformat()}&endpoint_id={other.id}").get_data(as_text=True)
    assert "Giao ban" in client.get(f"/calendar?date={day.isoformat()}&unit_id={other.unit.parent_id}").get_data(as_text=True)


def test_cancel_from_the_meeting_page_needs_the_confirmation_and_tells_the_reason(client, login_as, sites, book,
                                                                                   get_csrf):
    from vmeeting.outbox.models import OutboxMail
    from vmeeting.outbox.service import message_for_display

    meeting = book([sites["hall"], *sites["communes"][:2]], next_monday(8), attendees=["vanphong@langson.gov.vn"])
    login_as("scheduler")
    page = client.get(f"/meetings/{meeting.id}/cancel").get_data(as_text=True)
    assert "Lý do hủy" in page and "điểm cầu" in page
    token = get_csrf(f"/meetings/{meeting.id}/cancel")
    unconfirmed = client.post(f"/meetings/{meeting.id}/cancel", data={"csrf_token": token, "reason": "Đổi lịch"})
    assert unconfirmed.status_code == 400 and "Đánh dấu ô xác nhận" in unconfirmed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status == "scheduled"
    assert db.session.get(Meeting, meeting.id).sequence == 0

    response = client.post(f"/meetings/{meeting.id}/cancel", data={
        "csrf_token": token, "confirm": "y", "reason": "Lãnh đạo tỉnh đi công tác đột xuất", "version": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    cancelled = db.session.get(Meeting, meeting.id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Lãnh đạo tỉnh đi công tác đột xuất"
    mails = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.method == "CANCEL")).all()
    assert mails and all("Lãnh đạo tỉnh đi công tác đột xuất" in _mail_text(message_for_display(m)) for m in mails)
    assert "Lãnh đạo tỉnh đi công tác đột xuất" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def _mail_text(raw):
    import email
    from email import policy

    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def test_post_without_csrf_is_refused(client, login_as, meeting):
    login_as("scheduler")
    assert client.post(f"/meetings/{meeting.id}/cancel").status_code == 400
    assert db.session.get(Meeting, meeting.id).status == "scheduled"


def test_find_free_times_on_the_booking_page(client, login_as, sites, book, get_csrf):
    a = sites["communes"][0]
    start = next_monday(8)
    book([a], start, minutes=120, chair=a)
    login_as("scheduler")
    response = client.post("/meetings/new", data=form_data(
        sites, start, get_csrf("/meetings/new"), endpoint_ids=str(a.id), action="slots"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="free-slots"' in html
    assert 'value="' + start.strftime("%Y-%m-%d") + 'T10:30"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1


# -- editing: the page sends back what it showed ----------------------------------------------


class _FormValues(HTMLParser):
    """The values a browser would send for the booking form as served (no button pressed)."""

    def __init__(self):
        super().__init__()
        self.values, self._select, self._textarea = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("form") or (attrs.get("disabled") is not None and "disabled" in attrs):
            return
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.values.append((attrs["name"], attrs.get("value", "y" if attrs.get("type") == "checkbox" else "")))
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values.append((self._select, attrs.get("value", "")))
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            self.values.append((self._textarea, ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data.lstrip("\n") if not text else text + data))


def shown_form(client, path, **changes):
    """The form at path as a browser would submit it untouched, then with changes (a value, or a list)."""
    parser = _FormValues()
    parser.feed(client.get(path).get_data(as_text=True))
    data = MultiDict(parser.values)
    for name, value in changes.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    data.setdefault("action", "book")
    return data


@pytest.mark.parametrize("rule", [
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=4",
    "FREQ=MONTHLY;BYDAY=1MO;COUNT=3",
    "FREQ=MONTHLY;BYDAY=2MO;COUNT=3",
    "FREQ=YEARLY;COUNT=2",
    "FREQ=WEEKLY;COUNT=2",
])
def test_editing_a_series_in_the_page_keeps_its_rule(client, login_as, sites, book, rule):
    """A rule booked through the API survives an edit of something else in the page."""
    # months and years ahead a sitting may fall on a holiday: booked on purpose, and kept by the edit
    meeting = book([sites["hall"]], next_monday(8), recurrence=rule, allow_non_working_time=True)
    sittings = [o.starts_at for o in meeting.occurrences]
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    response = client.post(path, data=shown_form(client, path, title="Giao ban (sửa tên)"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.title == "Giao ban (sửa tên)" and meeting.recurrence == rule
    assert sorted(o.starts_at for o in meeting.occurrences if o.status == "scheduled") == sorted(sittings)


def test_a_rule_the_form_cannot_show_is_shown_read_only_and_can_be_replaced(client, login_as, sites, book):
    meeting = book([sites["hall"]], next_monday(8), recurrence="FREQ=MONTHLY;BYDAY=2MO;COUNT=3",
                   allow_non_working_time=True)
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    html = client.get(path).get_data(as_text=True)
    assert 'data-testid="stored-rule"' in html and "FREQ=MONTHLY;BYDAY=2MO;COUNT=3" in html and "readonly" in html
    assert "Hằng tháng vào Thứ Hai thứ hai, 3 buổi" in html  # and in words
    assert "qua API" in html and "chọn kiểu lặp mới" in html

    response = client.post(path, data=shown_form(client, path, frequency="WEEKLY", weekdays=["MO"], repeat_count="2"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).recurrence == "FREQ=WEEKLY;BYDAY=MO;COUNT=2"


def test_changing_the_repeat_fields_rebuilds_the_rule_with_its_interval(client, login_as, sites, book):
    meeting = book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=4")
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    html = client.get(path).get_data(as_text=True)
    assert 'data-testid="stored-rule"' not in html and 'name="repeat_interval"' in html
    response = client.post(path, data=shown_form(client, path, repeat_interval="3", repeat_count="2"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.recurrence == "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO;COUNT=2"
    first, second = sorted(o.starts_at for o in meeting.occurrences if o.status == "scheduled")
    assert second - first == timedelta(weeks=3)


def test_an_edit_keeps_sites_and_chair_now_in_maintenance(client, login_as, sites, book):
    hall, commune = sites["hall"], sites["communes"][0]
    meeting = book([hall, commune, sites["communes"][1]], next_monday(8), chair=hall)
    for endpoint in (hall, commune):
        endpoint.status = "maintenance"
    db.session.commit()
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    html = client.get(path).get_data(as_text=True)
    # a commune is named with its district, the provincial hall alone
    assert f"{commune.name} (Chi Lăng) (bảo trì)" in html and f"{hall.name} (bảo trì)" in html
    assert "(bảo trì)" not in client.get("/meetings/new").get_data(as_text=True)

    response = client.post(path, data=shown_form(client, path, title="Giao ban tháng"))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.title == "Giao ban tháng" and meeting.chair_endpoint_id == hall.id
    assert {e.id for e in meeting.endpoints} == {hall.id, commune.id, sites["communes"][1].id}


def test_an_edit_cannot_add_a_site_in_maintenance(client, login_as, sites, book):
    meeting = book([sites["hall"]], next_monday(8))
    other = sites["communes"][0]
    other.status = "maintenance"
    db.session.commit()
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    response = client.post(path, data=shown_form(client, path, endpoint_ids=[str(sites["hall"].id), str(other.id)]))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "«Điểm cầu riêng lẻ»" in html
    db.session.expire_all()
    assert {e.id for e in db.session.get(Meeting, meeting.id).endpoints} == {sites["hall"].id}


@pytest.mark.parametrize("field, value, reason", [
    ("day", "31/02/2026", "«Ngày họp» không phải ngày hợp lệ; hãy nhập theo dạng dd/mm/yyyy."),
    ("start_time", "25:99", "«Bắt đầu» không phải giờ hợp lệ; hãy nhập theo dạng HH:MM."),
    ("setup_minutes", "ba mươi", "«Thời gian chuẩn bị, kiểm tra trước (phút)» phải là một số nguyên."),
    ("repeat_count", "4.5", "«Hoặc số buổi» phải là một số nguyên."),
    ("endpoint_ids", "abc", "«Điểm cầu riêng lẻ»: có lựa chọn không có trong danh sách."),
    ("endpoint_ids", "999999", "«Điểm cầu riêng lẻ»: &#39;999999&#39; không có trong danh sách."),
    ("chair_endpoint_id", "999999", "«Điểm cầu chủ tọa»: lựa chọn không có trong danh sách."),
    ("chair_endpoint_id", "abc", "«Điểm cầu chủ tọa»: lựa chọn không có trong danh sách."),
    ("frequency", "HOURLY", "«Lặp lại»: lựa chọn không có trong danh sách."),
])
def test_parse_errors_are_vietnamese_and_name_the_field(client, login_as, sites, get_csrf, field, value, reason):
    login_as("scheduler")
    data = form_data(sites, next_monday(8), get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id),
                     attendees="a@example.vn")
    data[field] = value
    response = client.post("/meetings/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert reason in html, html[html.find("invalid-feedback") - 300:html.find("invalid-feedback") + 300]
    assert "Not a valid" not in html and "Invalid choice" not in html
    # what was typed stays on the page
    assert f'value="{value}"' in html or value in ("999999", "abc", "HOURLY")
    assert "a@example.vn" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_finding_free_times_while_editing_counts_the_meetings_own_time_as_free(client, login_as, sites, book):
    a = sites["communes"][0]
    start = next_monday(8)
    meeting = book([a], start, chair=a)
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    response = client.post(path, data=shown_form(client, path, action="slots"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="free-slots"' in html
    assert 'value="' + start.strftime("%Y-%m-%dT%H:%M") + '"' in html


def test_a_picked_slot_that_is_taken_shows_the_picked_time(client, login_as, sites, book, get_csrf):
    a = sites["communes"][0]
    start = next_monday(8)
    taken = start + timedelta(hours=2)
    book([a], taken, chair=a, title="Họp xã")
    login_as("scheduler")
    response = client.post("/meetings/new", data=form_data(
        sites, start, get_csrf("/meetings/new"), endpoint_ids=str(a.id), slot=taken.strftime("%Y-%m-%dT%H:%M")))
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'data-testid="conflict"' in html
    assert f'value="{taken.strftime("%d/%m/%Y")}"' in html
    assert 'name="start_time"' in html and 'value="10:00"' in html and 'value="11:00"' in html
    assert 'value="08:00"' not in html


@pytest.mark.parametrize("module", ["vmeeting.auth.forms", "vmeeting.booking.forms", "vmeeting.registry.forms",
                                    "vmeeting.readiness.forms"])
def test_the_apps_forms_build_on_the_vietnamese_base(module):
    """WTForms' own messages (bad date, choice not offered) reach people in Vietnamese on every page."""
    import importlib
    import inspect

    from flask_wtf import FlaskForm

    from vmeeting.core.forms_i18n import AppForm

    forms = [cls for _name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
             if issubclass(cls, FlaskForm) and cls.__module__ == module]
    assert forms and all(issubclass(cls, AppForm) for cls in forms), forms


def test_a_series_with_both_an_end_day_and_a_count_asks_for_one(client, login_as, sites, get_csrf):
    """RFC 5545 §3.3.10: UNTIL and COUNT never share a rule; the form says so instead of dropping one."""
    login_as("scheduler")
    start = next_monday(8)
    data = form_data(sites, start, get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id),
                     frequency="WEEKLY", weekdays=["MO"], repeat_count="5",
                     repeat_until=(start + timedelta(days=60)).strftime("%d/%m/%Y"))
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 400
    assert "Chỉ chọn một trong hai: ngày kết thúc hoặc số buổi." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_the_form_offers_sites_with_their_district_and_units_as_a_tree(client, login_as, sites, district, province,
                                                                       make_unit, make_endpoint):
    """Names repeat in a province: each site shows its district; the units group under their district."""
    other = make_unit("Huyện Bình Gia", "huyện", parent=province, code="184")
    twin = make_endpoint("UBND xã Hòa Bình", unit=make_unit("Xã Hòa Bình", "xã", parent=other))
    login_as("scheduler")
    html = client.get("/meetings/new").get_data(as_text=True)
    parser = _Options()
    parser.feed(html)
    chair = parser.options["chair_endpoint_id"]
    assert chair[0] == ("", "— Chọn (gõ tên, không cần dấu) —")
    labels = dict(chair)
    assert labels[str(sites["communes"][0].id)] == "UBND xã Hòa Bình (Chi Lăng)"
    assert labels[str(twin.id)] == "UBND xã Hòa Bình (Bình Gia)"
    assert labels[str(sites["hall"].id)] == "UBND tỉnh Lạng Sơn"
    assert dict(parser.options["endpoint_ids"]) == {k: v for k, v in labels.items() if k}
    # the folded search text the picker matches: name, code and district without accents
    assert f'"search": "ubnd xa hoa binh {twin.code.lower()} binh gia"' in html.replace("&#34;", '"')
    # the tree: the province, then each district with its communes folded beneath and a box for all of it
    assert parser.checkboxes["unit_ids"] == [str(u) for u in (
        province.id, district.id, *[e.unit_id for e in sites["communes"]], other.id, twin.unit_id)]
    assert "Toàn Huyện Chi Lăng" in html and "(4 điểm cầu)" in html and "(1 điểm cầu)" in html


def test_a_district_ticked_in_the_tree_books_its_communes(client, login_as, sites, district):
    login_as("scheduler")
    data = shown_form(client, "/meetings/new", title="Họp huyện", day=next_monday(8).strftime("%d/%m/%Y"),
                      start_time="08:00", end_time="09:00", chair_endpoint_id=str(sites["hall"].id),
                      unit_ids=[str(district.id)])
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.scalars(sa.select(Meeting).where(Meeting.title == "Họp huyện")).one()
    assert meeting.endpoint_count == 5  # four communes and the chair


def test_the_chair_left_empty_is_named(client, login_as, sites):
    login_as("scheduler")
    data = shown_form(client, "/meetings/new", title="Họp", day=next_monday(8).strftime("%d/%m/%Y"),
                      start_time="08:00", end_time="09:00", chair_endpoint_id="",
                      endpoint_ids=[str(sites["hall"].id)])
    html = client.post("/meetings/new", data=data).get_data(as_text=True)
    assert "Chọn điểm cầu chủ tọa." in html and "could not coerce" not in html


class _Options(HTMLParser):
    """The options of each select and the values of each checkbox group, in page order."""

    def __init__(self):
        super().__init__()
        self.options, self.checkboxes, self._select, self._value, self._text = {}, {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs["name"]
            self.options[self._select] = []
        elif tag == "option" and self._select:
            self._value, self._text = attrs.get("value"), ""
        elif tag == "input" and attrs.get("type") == "checkbox":
            self.checkboxes.setdefault(attrs["name"], []).append(attrs["value"])

    def handle_data(self, data):
        if self._text is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "option" and self._text is not None:
            self.options[self._select].append((self._value, self._text.strip()))
            self._text = None
        elif tag == "select":
            self._select = None


def test_a_long_series_lists_the_sitting_just_held_and_the_next_ones(client, login_as, sites, book):
    """A weekly series of 14 sittings: the page lists 10 (none ended yet: the first ten), and links to all."""
    from vmeeting.booking.views import SITTINGS_SHOWN

    meeting = book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=14", title="Giao ban tuần",
                   allow_non_working_time=True)
    login_as("viewer")
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert html.count('data-testid="occurrence-row"') == SITTINGS_SHOWN == 10
    assert 'data-testid="all-sittings"' in html and "Xem cả 14 buổi" in html
    every = client.get(f"/meetings/{meeting.id}?sittings=all").get_data(as_text=True)
    assert every.count('data-testid="occurrence-row"') == 14 and 'data-testid="all-sittings"' not in every


def test_the_sittings_window_starts_at_the_last_sitting_begun():
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from vmeeting.booking.views import sittings_window

    day = datetime(2027, 1, 4, tzinfo=timezone.utc)
    series = [SimpleNamespace(n=i, ends_at=day + timedelta(weeks=i)) for i in range(14)]
    shown = lambda now: [o.n for o in sittings_window(series, now, shown=4)]  # noqa: E731
    assert shown(day - timedelta(days=1)) == [0, 1, 2, 3]  # nothing held yet
    assert shown(day + timedelta(weeks=5, hours=1)) == [5, 6, 7, 8]  # the 6th just ended: it, then the next
    assert shown(day + timedelta(weeks=12, hours=1)) == [10, 11, 12, 13]  # near the end: the last four
    assert shown(day + timedelta(weeks=20)) == [10, 11, 12, 13]  # all held
    assert [o.n for o in sittings_window(series[:3], day, shown=4)] == [0, 1, 2]


def test_the_meeting_list_counts_up_to_its_limit(client, login_as, sites, book, monkeypatch):
    """The country's list holds some 80,000 upcoming meetings: it counts up to COUNTED, then says "more"."""
    from vmeeting.booking import views

    for hour in (8, 10, 14):
        book([sites["hall"]], next_monday(hour), title=f"Họp lúc {hour}")
    login_as("viewer")
    total = lambda html: html.split('data-testid="meeting-total">', 1)[1].split("<", 1)[0]  # noqa: E731
    assert total(client.get("/meetings").get_data(as_text=True)) == "3"
    monkeypatch.setattr(views, "COUNTED", 2)
    monkeypatch.setattr(views, "PER_PAGE", 1)
    html = client.get("/meetings").get_data(as_text=True)
    assert total(html) == "2+" and html.count('href="/meetings/') >= 1
    assert "Họp lúc 14" in client.get("/meetings?page=3").get_data(as_text=True)  # past the count, still there


def test_a_large_meetings_page_body_is_kept_while_it_reads_the_same(client, login_as, sites, book, monkeypatch,
                                                                    get_csrf):
    """Past INLINE_SITES sites the body is kept per process: until the meeting changes, a name it shows
    changes, a sitting starts or ends, or another role or language reads it."""
    from vmeeting.booking import service, views
    from vmeeting.registry import service as registry

    monkeypatch.setattr(views, "INLINE_SITES", 0)
    views._bodies.clear()
    first = next_monday(8)
    meeting = book([sites["hall"], sites["communes"][0]], first, recurrence="FREQ=WEEKLY;COUNT=2",
                   title="Giao ban tuần", allow_non_working_time=True)
    login_as("scheduler")
    page = lambda: client.get(f"/meetings/{meeting.id}").get_data(as_text=True)  # noqa: E731
    assert "Giao ban tuần" in page() and "Dời" in page() and len(views._bodies) == 1
    service.update_meeting(meeting, {"title": "Giao ban tuần (sửa)", "starts_at": meeting.starts_at,
                                     "ends_at": meeting.ends_at, "chair_endpoint_id": sites["hall"].id,
                                     "recurrence": meeting.recurrence},
                           service.resolve_sites(endpoint_ids=[sites["hall"].id, sites["communes"][0].id]),
                           choices=service.BookingChoices(allow_non_working_time=True))
    db.session.commit()
    assert "Giao ban tuần (sửa)" in page()
    registry.update_endpoint(sites["hall"], {"name": "UBND tỉnh Lạng Sơn (hội trường)"})
    db.session.commit()
    assert "UBND tỉnh Lạng Sơn (hội trường)" in page()
    # the first sitting starts: its roll-call link appears though nothing in the database changed
    roll_call = f"/occurrences/{meeting.occurrences[0].id}/attendance"
    assert roll_call not in page()
    monkeypatch.setattr(views, "utcnow", lambda: first.astimezone(timezone.utc) + timedelta(minutes=5))
    assert roll_call in page()
    client.post("/logout", data={"csrf_token": get_csrf(f"/meetings/{meeting.id}")})
    login_as("viewer")
    assert "Dời" not in page() and "Giao ban tuần (sửa)" in page()  # the viewer's own body, no move links
    client.post("/lang/en", data={"csrf_token": get_csrf(f"/meetings/{meeting.id}")})
    assert ">Sittings <" in page() and "Các buổi họp" not in page()
