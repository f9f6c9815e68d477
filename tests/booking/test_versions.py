"""Issue 24, items 1–3 (versions on every write, a sitting under way, a cancelled meeting's sittings) and
issue 25's history of a meeting's changes with old and new values."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.booking.conftest import move_into_the_past, next_monday
from tests.booking.test_views import shown_form
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local


def etag(meeting_id, version):
    return f'"meeting-{meeting_id}-v{version}"'


def fresh(model, row_id):
    db.session.rollback()
    return db.session.get(model, row_id)


def times(start, minutes=60):
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=minutes)).isoformat()}


@pytest.fixture
def series(sites, book):
    return book([sites["hall"], sites["communes"][0]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=3")


# -- 1. every write obeys the version --------------------------------------------------------------


def test_two_clients_with_one_etag_move_one_sitting_the_second_gets_412(client, api_headers, series):
    first, second = api_headers("scheduler"), api_headers("admin")
    read = client.get(f"/api/v1/meetings/{series.id}", headers=first)
    tag, sitting = read.headers["ETag"], read.get_json()["occurrences"][0]
    start = to_local(series.occurrences[0].starts_at)
    path = f"/api/v1/meetings/{series.id}/occurrences/{sitting['id']}"
    moved = client.patch(path, headers={**first, "If-Match": tag}, json=times(start + timedelta(hours=6)))
    assert moved.status_code == 200, moved.get_json()
    lost = client.patch(path, headers={**second, "If-Match": tag}, json=times(start + timedelta(hours=2)))
    assert lost.status_code == 412 and lost.get_json()["error"]["code"] == "precondition_failed"
    assert lost.get_json()["error"]["version"] == "1"
    assert to_local(fresh(Occurrence, sitting["id"]).starts_at) == start + timedelta(hours=6)


def test_a_cancel_with_an_etag_two_versions_old_is_refused(client, api_headers, series):
    headers = api_headers("scheduler")
    old = client.get(f"/api/v1/meetings/{series.id}", headers=headers).headers["ETag"]
    for title in ("Giao ban (1)", "Giao ban (2)"):
        assert client.patch(f"/api/v1/meetings/{series.id}", headers=headers, json={"title": title}).status_code == 200
    refused = client.post(f"/api/v1/meetings/{series.id}/cancel", headers={**headers, "If-Match": old},
                          json={"confirm": True})
    assert refused.status_code == 412
    changes = refused.get_json()["error"]["changes"]
    assert len(changes) == 2 and changes[0]["details"] == ["Tên: Giao ban (1) → Giao ban (2)"]
    assert fresh(Meeting, series.id).status == "scheduled"
    sitting = series.occurrences[1].id
    stale_one = client.post(f"/api/v1/meetings/{series.id}/occurrences/{sitting}/cancel",
                            headers={**headers, "If-Match": old}, json={"confirm": True})
    assert stale_one.status_code == 412 and fresh(Occurrence, sitting).status == "scheduled"
    done = client.post(f"/api/v1/meetings/{series.id}/cancel", headers={**headers, "If-Match": etag(series.id, 2)},
                       json={"confirm": True})
    assert done.status_code == 200 and done.headers["ETag"] == etag(series.id, 3)


@pytest.mark.parametrize("header", ['W/"meeting-{id}-v0"', '"meeting-{id}-v"', "meeting-{id}-v0", '"', ",", ", ,",
                                    '"meeting-999-v0"', "\x7f\x01garbage", '"meeting-{id}-v99999999999999999999"',
                                    "W/", '""'])
def test_a_malformed_if_match_is_412_on_every_write_never_500(client, api_headers, series, header):
    headers = {**api_headers("scheduler"), "If-Match": header.replace("{id}", str(series.id))}
    occurrence = series.occurrences[0]
    start = to_local(occurrence.starts_at)
    for response in (
        client.patch(f"/api/v1/meetings/{series.id}", headers=headers, json={"title": "Đổi"}),
        client.patch(f"/api/v1/meetings/{series.id}/occurrences/{occurrence.id}", headers=headers,
                     json=times(start + timedelta(hours=6))),
        client.post(f"/api/v1/meetings/{series.id}/occurrences/{occurrence.id}/cancel", headers=headers,
                    json={"confirm": True}),
        client.post(f"/api/v1/meetings/{series.id}/cancel", headers=headers, json={"confirm": True}),
    ):
        assert response.status_code == 412, (header, response.status_code, response.get_data(as_text=True))
    meeting = fresh(Meeting, series.id)
    assert meeting.sequence == 0 and meeting.status == "scheduled" and meeting.title == "Giao ban"


def test_if_match_is_optional_and_star_means_any_version(client, api_headers, series):
    headers = api_headers("scheduler")
    assert client.patch(f"/api/v1/meetings/{series.id}", headers=headers, json={"title": "A"}).status_code == 200
    star = client.patch(f"/api/v1/meetings/{series.id}", headers={**headers, "If-Match": "*"}, json={"title": "B"})
    assert star.status_code == 200 and star.headers["ETag"] == etag(series.id, 2)
    listed = client.patch(f"/api/v1/meetings/{series.id}", json={"title": "C"},
                          headers={**headers, "If-Match": f'"other", {etag(series.id, 2)}'})
    assert listed.status_code == 200
    # any listed tag that names the current version passes, wherever it stands in the list (RFC 9110 §13.1.1)
    either = client.patch(f"/api/v1/meetings/{series.id}", json={"title": "D"},
                          headers={**headers, "If-Match": f"{etag(series.id, 1)}, {etag(series.id, 3)}"})
    assert either.status_code == 200 and either.headers["ETag"] == etag(series.id, 4)
    neither = client.patch(f"/api/v1/meetings/{series.id}", json={"title": "E"},
                           headers={**headers, "If-Match": f"{etag(series.id, 1)}, {etag(series.id, 3)}"})
    assert neither.status_code == 412


def test_a_stale_move_page_shows_what_changed_and_moves_nothing(client, login_as, api_headers, series):
    login_as("scheduler")
    occurrence = series.occurrences[0]
    path = f"/meetings/{series.id}/occurrences/{occurrence.id}/move"
    form = shown_form(client, path, start_time="14:00", end_time="15:00")
    assert form["version"] == "0"
    client.patch(f"/api/v1/meetings/{series.id}", headers=api_headers("admin"), json={"title": "Giao ban (đã đổi)"})
    refused = client.post(path, data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'data-testid="stale"' in html
    assert "Tên: Giao ban → Giao ban (đã đổi)" in html
    assert to_local(fresh(Occurrence, occurrence.id).starts_at).hour == 8
    again = client.post(path, data=shown_form(client, path, start_time="14:00", end_time="15:00"))
    assert again.status_code == 302 and to_local(fresh(Occurrence, occurrence.id).starts_at).hour == 14


def test_a_stale_cancel_page_cancels_nothing(client, login_as, api_headers, series):
    login_as("scheduler")
    path = f"/meetings/{series.id}/cancel"
    form = shown_form(client, path, confirm="y", reason="Đổi lịch")
    sitting = series.occurrences[2]
    client.post(f"/api/v1/meetings/{series.id}/occurrences/{sitting.id}/cancel", headers=api_headers("admin"),
                json={"confirm": True})
    refused = client.post(path, data=form)
    assert refused.status_code == 409 and 'data-testid="stale"' in refused.get_data(as_text=True)
    assert fresh(Meeting, series.id).status == "scheduled"
    without = client.post(path, data={**form.to_dict(), "version": ""})
    assert without.status_code == 409 and fresh(Meeting, series.id).status == "scheduled"
    assert client.post(path, data=shown_form(client, path, confirm="y")).status_code == 302
    assert fresh(Meeting, series.id).status == "cancelled"


def test_the_calendar_drag_carries_the_version(client, login_as, api_headers, get_csrf, series):
    login_as("scheduler")
    occurrence = series.occurrences[1]
    day = to_local(occurrence.starts_at).date()
    feed = client.get("/calendar/events", query_string={"start": day.isoformat(),
                                                        "end": (day + timedelta(days=1)).isoformat()}).get_json()
    event = next(e for e in feed if e.get("extendedProps", {}).get("occurrence_id") == occurrence.id)
    assert event["extendedProps"]["version"] == "0"
    token = get_csrf("/calendar")

    def drag(hour, **extra):
        return client.post("/calendar/move", headers={"X-CSRFToken": token}, json={
            "occurrence_id": occurrence.id, "starts_at": f"{day}T{hour}:00", "ends_at": f"{day}T{hour + 1}:00",
            **extra})

    client.patch(f"/api/v1/meetings/{series.id}", headers=api_headers("admin"), json={"title": "Giao ban (đổi)"})
    stale = drag(14, version="0")
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "precondition_failed"
    assert "người khác sửa" in stale.get_json()["error"]["message"]
    assert drag(14).status_code == 412 and drag(14, version=1).status_code == 412  # none, or not the feed's text
    assert to_local(fresh(Occurrence, occurrence.id).starts_at).hour == 8
    moved = drag(14, version="1")
    assert moved.status_code == 200 and moved.get_json()["version"] == "2"
    assert to_local(fresh(Occurrence, occurrence.id).starts_at).hour == 14


# -- 2. a sitting under way -------------------------------------------------------------------------


def _under_way(meeting):
    """Shift a booked meeting so that its first sitting began 30 minutes ago and ends in 30 minutes."""
    began = (utcnow() - timedelta(minutes=30)).replace(second=0, microsecond=0)
    return move_into_the_past(meeting, began - meeting.occurrences[0].starts_at)


def test_a_sitting_under_way_keeps_its_start_and_its_roll_call(client, api_headers, make_user, sites, book):
    from vmeeting.attendance import service as attendance
    from vmeeting.attendance.models import Attendance

    headers = api_headers("scheduler")
    meeting = _under_way(book([sites["hall"], sites["communes"][0]], next_monday(8)))
    occurrence = meeting.occurrences[0]
    began, ends = occurrence.starts_at, occurrence.ends_at
    attendance.mark(occurrence, sites["hall"].id, make_user("admin"), {"status": "present"})
    db.session.commit()
    later = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={
        "starts_at": (began + timedelta(days=365)).isoformat(), "ends_at": (ends + timedelta(days=365)).isoformat(),
        "allow_non_working_time": True})
    assert later.status_code == 400
    assert "đã bắt đầu" in later.get_json()["error"]["fields"]["starts_at"]
    assert fresh(Occurrence, occurrence.id).starts_at == began
    assert db.session.scalar(sa.select(Attendance.occurrence_id)) == occurrence.id
    # its end: extended, then shortened, never to before now
    for new_end in (ends + timedelta(minutes=45), ends - timedelta(minutes=15)):
        changed = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={
            "ends_at": new_end.isoformat(), "allow_non_working_time": True})
        assert changed.status_code == 200, changed.get_json()
        stored = fresh(Occurrence, occurrence.id)
        assert (stored.starts_at, stored.ends_at) == (began, new_end)
    past = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={
        "ends_at": (utcnow() - timedelta(minutes=1)).isoformat(), "allow_non_working_time": True})
    assert past.status_code == 400 and "sau bây giờ" in past.get_json()["error"]["fields"]["ends_at"]


def test_extending_a_sitting_under_way_into_the_next_meeting_is_409_naming_it(client, api_headers, sites, book):
    headers = api_headers("scheduler")
    meeting = _under_way(book([sites["hall"]], next_monday(8)))
    ends = meeting.occurrences[0].ends_at
    book([sites["hall"]], to_local(ends + timedelta(minutes=30)), title="Họp chiều của Sở",
         allow_non_working_time=True)
    clash = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={
        "ends_at": (ends + timedelta(hours=1)).isoformat(), "allow_non_working_time": True})
    assert clash.status_code == 409
    assert "«Họp chiều của Sở»" in clash.get_json()["error"]["message"]
    assert fresh(Occurrence, meeting.occurrences[0].id).ends_at == ends


def test_a_series_sitting_under_way_keeps_its_start(client, api_headers, sites, book):
    headers = api_headers("scheduler")
    meeting = _under_way(book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=3"))
    first, second = meeting.occurrences[0], meeting.occurrences[1]
    began, ends = first.starts_at, first.ends_at
    path = f"/api/v1/meetings/{meeting.id}/occurrences/{first.id}"
    moved = client.patch(path, headers=headers, json={
        "starts_at": (began + timedelta(days=300)).isoformat(), "ends_at": (ends + timedelta(days=300)).isoformat(),
        "allow_non_working_time": True})
    assert moved.status_code == 400 and "đã bắt đầu" in moved.get_json()["error"]["fields"]["starts_at"]
    longer = client.patch(path, headers=headers, json={
        "starts_at": began.isoformat(), "ends_at": (ends + timedelta(minutes=30)).isoformat(),
        "allow_non_working_time": True})
    assert longer.status_code == 200, longer.get_json()
    assert fresh(Occurrence, first.id).ends_at == ends + timedelta(minutes=30)
    # a new hour for the series moves the coming sittings, not the one under way
    second_start = fresh(Occurrence, second.id).starts_at
    # 15 minutes later, or earlier when later is the next day (the series keeps the day it began on)
    shift = timedelta(minutes=15 if to_local(began + timedelta(minutes=15)).date() == to_local(began).date() else -15)
    later = client.patch(f"/api/v1/meetings/{meeting.id}", headers=headers, json={
        "starts_at": (began + shift).isoformat(), "ends_at": (ends + shift).isoformat(),
        "allow_non_working_time": True})
    assert later.status_code == 200, later.get_json()
    assert fresh(Occurrence, first.id).starts_at == began
    assert fresh(Occurrence, second.id).starts_at == second_start + shift


def test_a_sitting_that_has_ended_does_not_move(client, api_headers, sites, book):
    headers = api_headers("scheduler")
    meeting = book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=3")
    yesterday = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    move_into_the_past(meeting, yesterday - meeting.occurrences[0].starts_at)  # the first sitting was a day ago
    first = meeting.occurrences[0]
    target = next_monday(8) + timedelta(weeks=4)
    response = client.patch(f"/api/v1/meetings/{meeting.id}/occurrences/{first.id}", headers=headers,
                            json=times(target))
    assert response.status_code == 400 and "đã kết thúc" in response.get_json()["error"]["fields"]["starts_at"]


# -- 3. a cancelled meeting's sittings --------------------------------------------------------------


def test_a_cancelled_meetings_sittings_read_cancelled(client, api_headers, login_as, series):
    headers = api_headers("scheduler")
    assert client.post(f"/api/v1/meetings/{series.id}/cancel", headers=headers, json={"confirm": True}).status_code == 200
    body = client.get(f"/api/v1/meetings/{series.id}", headers=headers).get_json()
    assert [o["status"] for o in body["occurrences"]] == ["cancelled"] * 3
    login_as("viewer")
    page = client.get(f"/meetings/{series.id}").get_data(as_text=True)
    assert page.count('data-testid="occurrence-cancelled"') == 3


# -- issue 25: the history records old and new values ------------------------------------------------


def test_the_history_shows_old_and_new_values(client, api_headers, login_as, sites, series):
    headers = api_headers("scheduler")
    start = to_local(series.starts_at)
    first_day = start.strftime("%d/%m/%Y")
    changed = client.patch(f"/api/v1/meetings/{series.id}", headers=headers, json={
        **times(start + timedelta(hours=6), 120), "title": "Giao ban chiều",
        "endpoint_ids": [sites["hall"].id, *[c.id for c in sites["communes"][1:3]]]})
    assert changed.status_code == 200, changed.get_json()
    second = fresh(Meeting, series.id).occurrences[1]
    second_start = to_local(second.starts_at)
    assert client.patch(f"/api/v1/meetings/{series.id}/occurrences/{second.id}", headers=headers,
                        json=times(second_start + timedelta(days=1), 120)).status_code == 200
    third = fresh(Meeting, series.id).occurrences[2]
    assert client.post(f"/api/v1/meetings/{series.id}/occurrences/{third.id}/cancel", headers=headers,
                       json={"confirm": True}).status_code == 200
    login_as("viewer")
    html = client.get(f"/meetings/{series.id}").get_data(as_text=True)
    assert "Trạng thái: Đã lên lịch → Đã hủy" in html and "Giờ: —" not in html
    assert f"Giờ: 08:00–09:00 {first_day} → 14:00–16:00 {first_day}" in html
    assert "Tên: Giao ban → Giao ban chiều" in html
    assert "Điểm cầu: 2 → 3 (thêm 2, bớt 1)" in html
    next_day = (second_start + timedelta(days=1)).strftime("%d/%m/%Y")
    assert (f"Giờ: 14:00–16:00 {second_start:%d/%m/%Y} → 14:00–16:00 {next_day}") in html


# -- the lock the version is read under (PostgreSQL) --------------------------------------------------


@pytest.fixture
def other(app, database_url):
    """A second connection to the test database, outside the app's session (PostgreSQL's row locks)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serializes writers with its one write lock")
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


def test_the_version_is_read_again_under_the_meetings_row_lock(other, sites, book):
    from tests.booking.test_site_locks import taken
    from vmeeting.booking import service
    from vmeeting.core.errors import StaleEdit

    meeting = book([sites["hall"]], next_monday(8))
    assert meeting.sequence == 0  # what this session read
    with other.begin() as conn:  # another writer's change, committed meanwhile
        conn.execute(sa.text("UPDATE meetings SET sequence = sequence + 1, title = 'Giao ban (người khác)' "
                             "WHERE id = :id"), {"id": meeting.id})
    with pytest.raises(StaleEdit):
        service.update_meeting(meeting, {"description": "Đổi"}, expected_version="0")
    db.session.rollback()
    meeting = db.session.get(Meeting, meeting.id)
    with other.begin() as conn:  # once more, after this session read the meeting again
        conn.execute(sa.text("UPDATE meetings SET sequence = sequence + 1, title = 'Giao ban (lần hai)' "
                             "WHERE id = :id"), {"id": meeting.id})
    service.update_meeting(meeting, {"description": "Đổi"})  # no version named: applied to the current one
    assert meeting.title == "Giao ban (lần hai)"  # not the title this session had read
    assert taken(other, "meetings", meeting.id)  # held until the commit
    assert not taken(other, "meetings", meeting.id, "KEY SHARE")  # others' foreign keys to it go on
    db.session.commit()
    assert not taken(other, "meetings", meeting.id)
    stored = fresh(Meeting, meeting.id)
    assert (stored.sequence, stored.title, stored.description) == (3, "Giao ban (lần hai)", "Đổi")  # never a number twice


def test_the_history_reads_in_english_on_an_english_page(client, api_headers, login_as, sites, series):
    from tests.conftest import switch_to_english

    headers = api_headers("scheduler")
    start = to_local(series.starts_at)
    assert client.patch(f"/api/v1/meetings/{series.id}", headers=headers, json={
        **times(start + timedelta(hours=6)), "title": "Giao ban chiều",
        "endpoint_ids": [sites["hall"].id]}).status_code == 200
    login_as("viewer")
    switch_to_english(client, f"/meetings/{series.id}")
    html = client.get(f"/meetings/{series.id}").get_data(as_text=True)
    day = start.strftime("%d/%m/%Y")
    assert f"Time: 08:00–09:00 {day} → 14:00–15:00 {day}" in html
    assert "Name: Giao ban → Giao ban chiều" in html and "Endpoints: 2 → 1 (0 added, 1 removed)" in html
