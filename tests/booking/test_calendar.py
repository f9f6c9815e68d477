"""The calendar's JSON: the events feed, the sites × time rows, and a dragged move under the booking rules."""

import json
import re
from datetime import timedelta
from html import unescape

import pytest

from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from tests.booking.conftest import next_monday
from tests.working_time.dates import coming


def feed(client, start, end, **params):
    return client.get("/calendar/events", query_string={"start": start, "end": end, **params})


def week_of(instant):
    monday = instant.date() - timedelta(days=instant.weekday())
    return monday.isoformat(), (monday + timedelta(days=7)).isoformat()


def move(client, token, occurrence, starts_at, ends_at, **extra):
    """Drag a sitting as calendar.js does: with its meeting's version as the feed gives it (the current one)."""
    import sqlalchemy as sa

    version = str(db.session.scalar(sa.select(Meeting.sequence).where(Meeting.id == occurrence.meeting_id)))
    return client.post("/calendar/move", json={"occurrence_id": occurrence.id, "starts_at": starts_at,
                                               "ends_at": ends_at, "version": version, **extra},
                       headers={"X-CSRFToken": token})


@pytest.mark.parametrize("role", ["anonymous", "admin", "scheduler", "technician", "viewer"])
def test_the_calendar_routes_check_the_role(client, login_as, sites, book, get_csrf, role):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    if role != "anonymous":
        login_as(role)
    token = get_csrf("/login" if role == "anonymous" else "/calendar")
    first, last = week_of(start)
    for response in (client.get("/calendar"), feed(client, first, last), client.get("/calendar/resources")):
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == 200
    moved = move(client, token, meeting.occurrences[0], f"{start.date()}T09:00", f"{start.date()}T10:00")
    expected = {"anonymous": 302, "admin": 200, "scheduler": 200, "technician": 403, "viewer": 403}[role]
    assert moved.status_code == expected


@pytest.mark.parametrize("role, editable", [("scheduler", True), ("viewer", False)])
def test_the_feed_gives_local_times_and_who_may_drag(client, login_as, sites, book, role, editable):
    start = next_monday(8)
    book([sites["hall"], *sites["communes"][:2]], start, minutes=90, title="Giao ban tuần")
    first, last = week_of(start)
    login_as(role)
    events = [e for e in feed(client, first, last).get_json() if e.get("display") != "background"]
    assert [(e["title"], e["start"], e["end"], e["editable"]) for e in events] == [
        ("Giao ban tuần", f"{start.date()}T08:00", f"{start.date()}T09:30", editable)]
    assert events[0]["extendedProps"]["sites"] == 3


def test_the_feed_narrows_like_the_page_and_lists_sites_for_the_timeline(client, login_as, sites, book, district):
    start = next_monday(8)
    book([sites["hall"]], start, title="Chỉ tỉnh")
    book([sites["communes"][0]], start + timedelta(hours=2), title="Xã Hòa Bình")
    first, last = week_of(start)
    login_as("viewer")
    titles = lambda response: [e["title"] for e in response.get_json() if "display" not in e]  # noqa: E731
    assert titles(feed(client, first, last)) == ["Chỉ tỉnh", "Xã Hòa Bình"]
    assert titles(feed(client, first, last, endpoint_id=sites["hall"].id)) == ["Chỉ tỉnh"]
    assert titles(feed(client, first, last, unit_id=district.id)) == ["Xã Hòa Bình"]
    with_sites = feed(client, first, last, resources=1).get_json()
    assert [e["resourceIds"] for e in with_sites if "display" not in e] == [
        [f"e{sites['hall'].id}", f"u{sites['hall'].unit_id}"], [f"e{sites['communes'][0].id}", f"u{district.id}"]]
    rows = client.get("/calendar/resources").get_json()
    assert [row["title"] for row in rows] == ["Tỉnh Lạng Sơn (1)", "Huyện Chi Lăng (4)"]
    assert [child["title"] for child in rows[1]["children"]] == [
        "UBND xã Hòa Bình", "UBND xã Mai Sao", "UBND xã Quang Lang", "UBND xã Vân An"]


def test_the_feed_shades_holidays_and_weekends(client, login_as):
    national_day = coming(9, 2)
    login_as("viewer")
    shading = feed(client, national_day.isoformat(), (national_day + timedelta(days=7)).isoformat()).get_json()
    kinds = {e["start"][:10]: e["extendedProps"]["kind"] for e in shading if e.get("display") == "background"}
    assert kinds[national_day.isoformat()] == "holiday"
    assert all(kind in ("holiday", "weekend", "day_off") for kind in kinds.values())
    assert sum(kind == "weekend" for kind in kinds.values()) >= 1


@pytest.mark.parametrize("params", [
    {"start": "", "end": "2026-12-07"}, {"start": "hôm nay", "end": "2026-12-07"},
    {"start": "2026-12-07", "end": "2026-12-01"}, {"start": "2026-01-01", "end": "2027-01-01"},
    {"start": "9999-01-01", "end": "9999-01-02"}, {"start": "2026-12-07T25:00", "end": "2026-12-08"},
])
def test_a_bad_window_is_a_400_naming_the_field(client, login_as, params):
    login_as("viewer")
    response = client.get("/calendar/events", query_string=params)
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) <= {"start", "end"}


def test_dragging_a_single_meeting_reschedules_it(client, login_as, get_csrf, sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    login_as("scheduler")
    response = move(client, get_csrf("/calendar"), meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00")
    assert response.status_code == 200, response.get_json()
    assert "14:00" in response.get_json()["message"]
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.starts_at == (start + timedelta(hours=6)).astimezone(meeting.starts_at.tzinfo)
    assert meeting.sequence == 1


def test_dragging_a_sitting_of_a_series_moves_only_it(client, login_as, get_csrf, sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start, recurrence="FREQ=WEEKLY;COUNT=3")
    second = meeting.occurrences[1]
    day = second.starts_at.astimezone(start.tzinfo).date() + timedelta(days=1)
    login_as("scheduler")
    response = move(client, get_csrf("/calendar"), second, f"{day}T09:00", f"{day}T10:00")
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    occurrences = db.session.get(Meeting, meeting.id).occurrences
    assert [o.is_moved for o in occurrences] == [False, True, False]
    assert occurrences[1].starts_at.astimezone(start.tzinfo).date() == day


def test_a_refused_move_names_the_busy_site_and_changes_nothing(client, login_as, get_csrf, sites, book):
    start = next_monday(8)
    busy = sites["communes"][0]
    book([busy], start + timedelta(hours=6), title="Tiếp công dân")
    meeting = book([sites["hall"], busy], start, title="Giao ban")
    login_as("scheduler")
    response = move(client, get_csrf("/calendar"), meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and "Tiếp công dân" in str(error)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).starts_at == start.astimezone(meeting.starts_at.tzinfo)


def test_a_move_outside_working_hours_asks_first(client, login_as, get_csrf, sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    login_as("scheduler")
    token = get_csrf("/calendar")
    evening = (f"{start.date()}T19:00", f"{start.date()}T20:00")
    refused = move(client, token, meeting.occurrences[0], *evening)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "non_working_time"
    allowed = move(client, token, meeting.occurrences[0], *evening, allow_non_working_time=True)
    assert allowed.status_code == 200


@pytest.mark.parametrize("body", [
    {}, {"occurrence_id": "1", "starts_at": "2026-12-07T08:00", "ends_at": "2026-12-07T09:00"},
    {"occurrence_id": 999999, "starts_at": "2026-12-07T08:00", "ends_at": "2026-12-07T09:00"},
    {"occurrence_id": 10**30, "starts_at": "2026-12-07T08:00", "ends_at": "2026-12-07T09:00"},
    {"occurrence_id": -1}, {"occurrence_id": True},
    {"starts_at": 5, "ends_at": None}, {"allow_non_working_time": "yes"},
])
def test_a_bad_move_is_a_400_naming_the_field(client, login_as, get_csrf, sites, book, body):
    meeting = book([sites["hall"]], next_monday(8))
    login_as("scheduler")
    body = {"occurrence_id": meeting.occurrences[0].id, "starts_at": "x", **body}
    response = client.post("/calendar/move", json=body, headers={"X-CSRFToken": get_csrf("/calendar")})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]


def test_a_move_without_the_csrf_token_is_refused(client, login_as, sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    login_as("scheduler")
    response = client.post("/calendar/move", json={"occurrence_id": meeting.occurrences[0].id,
                                                   "starts_at": f"{start.date()}T14:00", "ends_at": f"{start.date()}T15:00"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).sequence == 0


def test_a_click_on_the_grid_prefills_the_booking_form(client, login_as, sites):
    day = next_monday(8).date()
    login_as("scheduler")
    html = client.get(f"/meetings/new?day={day}&start=14:30&end=15:30").get_data(as_text=True)
    assert f'value="{day:%d/%m/%Y}"' in html and 'value="14:30"' in html and 'value="15:30"' in html
    assert client.get("/meetings/new?day=x&start=99:99").status_code == 200


def test_the_print_view_lists_sites_by_district_with_technician_and_phone(client, login_as, sites, book, make_user):
    technician = make_user("technician", username="kythuat", full_name="Hoàng Văn Kỹ")
    sites["communes"][0].technician_id = technician.id
    sites["communes"][0].contact_phone = "0205 3812 345"
    db.session.commit()
    meeting = book([sites["hall"], *sites["communes"][:2]], next_monday(8), title="Giao ban")
    login_as("viewer")
    page = client.get(f"/meetings/{meeting.id}")
    assert f'href="/meetings/{meeting.id}/print"' in page.get_data(as_text=True)
    html = client.get(f"/meetings/{meeting.id}/print").get_data(as_text=True)
    assert html.index("Tỉnh Lạng Sơn (1)") < html.index("Huyện Chi Lăng (2)")
    assert "Hoàng Văn Kỹ" in html and "0205 3812 345" in html and "print.css" in html
    assert client.get("/meetings/999999/print").status_code == 404


def test_a_large_meeting_folds_its_sites(client, login_as, sites, book):
    small = book([sites["hall"], *sites["communes"][:2]], next_monday(8), title="Nhỏ")
    login_as("viewer")
    html = client.get(f"/meetings/{small.id}").get_data(as_text=True)
    assert re.search(r'data-testid="sites-section"\s+open', html)


def test_the_status_filter_shows_cancelled_meetings_apart(client, login_as, sites, book):
    from vmeeting.booking import service

    start = next_monday(8)
    kept = book([sites["hall"]], start, title="Giữ")
    dropped = book([sites["communes"][0]], start, title="Hủy")
    service.cancel_meeting(dropped, reason="Trùng lịch")
    db.session.commit()
    first, last = week_of(start)
    login_as("scheduler")

    def shown(status):
        events = [e for e in feed(client, first, last, status=status).get_json() if "display" not in e]
        return {e["title"]: (e["editable"], e["extendedProps"]["cancelled"]) for e in events}

    assert shown("scheduled") == {"Giữ": (True, False)}
    assert shown("cancelled") == {"Hủy": (False, True)}
    assert shown("all") == {"Giữ": (True, False), "Hủy": (False, True)}
    assert kept.id != dropped.id


def test_the_unit_group_and_status_filters_narrow_the_page_the_events_and_the_rows(client, login_as, sites, book,
                                                                                  district):
    from vmeeting.registry import service as registry

    start = next_monday(8)
    book([sites["hall"]], start, title="Chỉ tỉnh")
    book([sites["communes"][0]], start + timedelta(hours=2), title="Xã Hòa Bình")
    book([sites["communes"][1], sites["communes"][2]], start + timedelta(hours=6), title="Hai xã")
    group = registry.save_group(None, "Khối xã phía Nam", "", [sites["communes"][1].id, sites["communes"][3].id])
    db.session.commit()
    first, last = week_of(start)
    login_as("viewer")
    titles = lambda response: [e["title"] for e in response.get_json() if "display" not in e]  # noqa: E731
    assert titles(feed(client, first, last, group_id=group.id)) == ["Hai xã"]
    assert titles(feed(client, first, last, group_id=group.id, unit_id=district.id)) == ["Hai xã"]
    rows = client.get("/calendar/resources", query_string={"group_id": group.id}).get_json()
    assert [(row["title"], [c["title"] for c in row["children"]]) for row in rows] == [
        ("Huyện Chi Lăng (2)", ["UBND xã Quang Lang", "UBND xã Vân An"])]

    # the page offers the three filters, chosen ones selected, and passes them on to both feeds
    html = client.get(f"/calendar?view=sites&date={first}&unit_id={district.id}&group_id={group.id}"
                      "&status=all").get_data(as_text=True)
    assert f'<option value="{district.id}" selected>— Huyện Chi Lăng</option>' in html
    assert f'<option value="{group.id}" selected>Khối xã phía Nam</option>' in html
    assert '<option value="all" selected>' in html and 'data-testid="calendar-clear"' in html
    options = json.loads(unescape(html.split('data-options="', 1)[1].split('"', 1)[0]))
    assert options["eventsUrl"] == f"/calendar/events?unit_id={district.id}&group_id={group.id}"
    assert options["resourcesUrl"] == f"/calendar/resources?unit_id={district.id}&group_id={group.id}"
    # the server-rendered table (no script) is narrowed the same way
    assert "Hai xã" in html and "Chỉ tỉnh" not in html


@pytest.mark.parametrize("query", ["endpoint_id=99999999999999999999", "unit_id=-1", "unit_id=1e5",
                                   "group_id=99999999999999999999", "group_id=abc", "status=nope",
                                   "date=9999-12-31", "date=0001-01-01", "view=nope&date=x"])
def test_the_page_and_the_feed_read_any_query_without_a_500(client, login_as, query):
    login_as("viewer")
    assert client.get(f"/calendar?{query}").status_code == 200
    assert client.get(f"/calendar/events?start=2026-12-07&end=2026-12-14&{query}").status_code == 200
    assert client.get(f"/calendar/resources?{query}").status_code == 200


def test_the_unit_filter_lists_provinces_and_districts_not_every_commune(client, login_as, sites, district):
    """At national scale the unit filter would hold ten thousand communes: it offers provinces and districts,
    and a commune only when the page is filtered by it (reached from the unit's own calendar link)."""
    login_as("viewer")
    html = client.get("/calendar").get_data(as_text=True)
    choices = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>',
                         html.split('data-testid="calendar-unit"', 1)[1].split("</select>", 1)[0])
    assert [name for _id, name in choices] == ["Tỉnh Lạng Sơn", "— Huyện Chi Lăng"]
    commune = sites["communes"][0].unit
    html = client.get(f"/calendar?unit_id={commune.id}").get_data(as_text=True)
    assert f'<option value="{commune.id}" selected>— — Xã Hòa Bình</option>' in html
    assert "Xã Quang Lang</option>" not in html


def test_a_dry_run_counts_the_people_told_and_writes_nothing(client, login_as, get_csrf, sites, book):
    """The review before a drag: the move rehearsed under every rule, its mails counted, nothing kept."""
    import sqlalchemy as sa

    from vmeeting.audit.models import AuditEvent
    from vmeeting.outbox.models import OutboxMail

    start = next_monday(8)
    for n, site in enumerate(sites["communes"][:2]):
        site.contact_emails = [f"xa{n}@langson.gov.vn", "vanphong@langson.gov.vn"]  # one person at both
    meeting = book([sites["hall"], *sites["communes"][:2]], start, title="Giao ban")
    rows = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    login_as("scheduler")
    token = get_csrf("/calendar")
    before = (rows(OutboxMail), rows(AuditEvent), meeting.sequence)
    response = move(client, token, meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00",
                    dry_run=True)
    assert response.status_code == 200, response.get_json()
    review = response.get_json()
    assert review["dry_run"] is True and review["recipients"] == 3 and review["series"] is False
    assert review["old"] == {"starts_at": f"{start.date()}T08:00", "ends_at": f"{start.date()}T09:00"}
    assert review["new"] == {"starts_at": f"{start.date()}T14:00", "ends_at": f"{start.date()}T15:00"}
    db.session.expire_all()
    assert (rows(OutboxMail), rows(AuditEvent), db.session.get(Meeting, meeting.id).sequence) == before
    assert db.session.get(Meeting, meeting.id).starts_at == start.astimezone(meeting.starts_at.tzinfo)

    moved = move(client, token, meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00")
    assert moved.status_code == 200
    db.session.expire_all()
    told = db.session.scalar(sa.select(sa.func.count(sa.distinct(OutboxMail.recipient))).where(
        OutboxMail.meeting_id == meeting.id, OutboxMail.sequence == 1))
    assert told == review["recipients"]


def test_a_refused_dry_run_answers_as_the_move_would(client, login_as, get_csrf, sites, book):
    start = next_monday(8)
    busy = sites["communes"][0]
    book([busy], start + timedelta(hours=6), title="Tiếp công dân")
    meeting = book([sites["hall"], busy], start, title="Giao ban")
    login_as("scheduler")
    token = get_csrf("/calendar")
    response = move(client, token, meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00",
                    dry_run=True)
    assert response.status_code == 409 and "Tiếp công dân" in str(response.get_json()["error"])
    bad = move(client, token, meeting.occurrences[0], f"{start.date()}T14:00", f"{start.date()}T15:00", dry_run="yes")
    assert bad.status_code == 400 and "dry_run" in bad.get_json()["error"]["fields"]
