"""Booking pages: access per role, the form's preview, conflicts and their ways on, the calendar."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.extensions import db


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
            assert response.status_code in (200, 302), (path, role, response.status_code)
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


def test_picking_a_suggested_slot_books_there(client, login_as, sites, book, get_csrf):
    a = sites["communes"][0]
    start = next_monday(8)
    book([a], start, chair=a)
    login_as("scheduler")
    token = get_csrf("/meetings/new")
    later = start + timedelta(hours=2, minutes=30)
    response = client.post("/meetings/new", data=form_data(
        sites, start, token, endpoint_ids=str(a.id), slot=later.strftime("%Y-%m-%dT%H:%M")))
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


def test_cancel_from_the_meeting_page(client, login_as, meeting, get_csrf):
    login_as("scheduler")
    response = client.post(f"/meetings/{meeting.id}/cancel", data={"csrf_token": get_csrf(f"/meetings/{meeting.id}")})
    assert response.status_code == 302
    assert db.session.get(Meeting, meeting.id).status == "cancelled"


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
