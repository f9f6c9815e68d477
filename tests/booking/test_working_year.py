"""The booking rules on the Vietnamese working year (issue 10): past, holidays, hours, series, stale edits."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday, next_working_day
from tests.booking.test_api import body
from tests.booking.test_views import form_data
from tests.conftest import count, page_text
from tests.working_time.dates import VN, at, coming, new_year_weekday, tet_working_days
from vmeeting.booking import series, service, slots
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.errors import NonWorkingTime
from vmeeting.core.extensions import db
from vmeeting.outbox.models import OutboxMail
from vmeeting.outbox.service import message_for_display
from vmeeting.working_time import service as working_time


def holiday_days():
    """30/4, 2/9 and every working day of the coming Tết (2027: 04, 05, 08, 09, 10/02)."""
    return [coming(4, 30), coming(9, 2), *tet_working_days()[1]]


# -- non-working days and hours -------------------------------------------------------------


def test_holidays_are_refused_through_the_api_unless_allowed(client, api_headers, sites):
    headers = api_headers("scheduler")
    days = holiday_days()
    assert date(2027, 2, 4) in days or days[0].year > 2027  # the issue's Tết, while it is ahead
    for day in days:
        refused = client.post("/api/v1/meetings", headers=headers, json=body(sites, at(day, 8), endpoint_ids=[sites["hall"].id]))
        assert refused.status_code == 409, (day, refused.get_json())
        error = refused.get_json()["error"]
        assert error["code"] == "non_working_time"
        assert error["sittings"][0]["starts_at"] == at(day, 8).astimezone(timezone.utc).isoformat()
        assert "không phải ngày làm việc" in error["sittings"][0]["reason"]
    assert count(Meeting) == count(Occurrence) == count(Reservation) == 0
    for day in days:
        confirmed = client.post("/api/v1/meetings", headers=headers, json=body(
            sites, at(day, 8), endpoint_ids=[sites["hall"].id], allow_non_working_time=True))
        assert confirmed.status_code == 201, (day, confirmed.get_json())
    assert count(Meeting) == len(days)


def test_outside_working_hours_is_refused_unless_allowed(client, api_headers, sites):
    headers = api_headers("scheduler")
    day = next_working_day(6)
    for start, minutes in ((day, 60), (day.replace(hour=17), 60), (day.replace(hour=12), 60), (day.replace(hour=16, minute=30), 60)):
        refused = client.post("/api/v1/meetings", headers=headers, json=body(sites, start, minutes=minutes,
                                                                            endpoint_ids=[sites["hall"].id]))
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "non_working_time", start
        assert "ngoài giờ làm việc" in refused.get_json()["error"]["message"]
    bad_flag = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, day, endpoint_ids=[sites["hall"].id], allow_non_working_time="yes"))
    assert bad_flag.status_code == 400 and "allow_non_working_time" in bad_flag.get_json()["error"]["fields"]
    assert count(Meeting) == 0


def test_a_holiday_on_the_form_warns_and_books_once_confirmed(client, login_as, sites, get_csrf):
    login_as("scheduler")
    day = tet_working_days()[1][0]
    data = form_data(sites, at(day, 8), get_csrf("/meetings/new"), endpoint_ids=[str(sites["hall"].id)])
    warned = client.post("/meetings/new", data=data)
    assert warned.status_code == 409
    html = warned.get_data(as_text=True)
    assert 'data-testid="non-working"' in html and "Tết" in html and day.strftime("%d/%m/%Y") in html
    assert count(Meeting) == 0
    booked = client.post("/meetings/new", data={**data, "action": "book_non_working"})
    assert booked.status_code == 302
    assert count(Meeting) == 1


def test_a_sitting_in_the_past_is_refused(client, api_headers, login_as, sites, get_csrf):
    headers = api_headers("scheduler")
    # 09:00 yesterday: the form's sitting ends the same day whatever the hour the suite runs (at 23:xx it did not)
    yesterday = datetime.now(VN).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1)
    refused = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, yesterday, endpoint_ids=[sites["hall"].id], allow_non_working_time=True))
    assert refused.status_code == 400 and "đã qua" in refused.get_json()["error"]["fields"]["starts_at"]
    login_as("scheduler")
    page = client.post("/meetings/new", data=form_data(sites, yesterday, get_csrf("/meetings/new"),
                                                       endpoint_ids=[str(sites["hall"].id)],
                                                       allow_non_working_time="y"))
    assert page.status_code == 400 and "đã qua" in page.get_data(as_text=True)
    assert count(Meeting) == 0


def test_moving_a_sitting_to_the_past_or_a_holiday(client, api_headers, sites):
    headers = api_headers("scheduler")
    start = next_monday(8)
    meeting = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=2")).get_json()
    first = meeting["occurrences"][0]["id"]
    path = f"/api/v1/meetings/{meeting['id']}/occurrences/{first}"
    past = datetime.now(VN) - timedelta(hours=3)
    assert client.patch(path, headers=headers, json={"starts_at": past.isoformat(), "ends_at": (
        past + timedelta(hours=1)).isoformat(), "allow_non_working_time": True}).status_code == 400
    saturday = start - timedelta(days=2)
    moved = client.patch(path, headers=headers, json={"starts_at": saturday.isoformat(),
                                                      "ends_at": (saturday + timedelta(hours=1)).isoformat()})
    assert moved.status_code == 409 and moved.get_json()["error"]["code"] == "non_working_time"
    allowed = client.patch(path, headers=headers, json={"starts_at": saturday.isoformat(), "allow_non_working_time": True,
                                                        "ends_at": (saturday + timedelta(hours=1)).isoformat()})
    assert allowed.status_code == 200


def test_changing_only_the_text_of_a_meeting_that_began_is_allowed(sites, book):
    from tests.booking.conftest import move_into_the_past

    meeting = book([sites["hall"]], next_working_day(8), minutes=600, allow_non_working_time=True)
    move_into_the_past(meeting, datetime.now(timezone.utc) - timedelta(hours=1) - meeting.starts_at)
    service.update_meeting(meeting, {"title": "Đang họp (đổi tên)"})
    db.session.commit()
    assert meeting.title == "Đang họp (đổi tên)"


# -- the slot finder ---------------------------------------------------------------------------


def test_slots_over_the_holiday_weeks_offer_none_of_them(client, api_headers, sites):
    headers = api_headers("viewer")
    for day in holiday_days():
        monday = day - timedelta(days=day.weekday())
        response = client.get("/api/v1/slots", headers=headers, query_string={
            "endpoint_ids": sites["hall"].id, "duration_minutes": 60, "limit": 50,
            "from": at(monday - timedelta(days=7), 0).isoformat(), "to": at(monday + timedelta(days=14), 0).isoformat()})
        assert response.status_code == 200
        offered = {datetime.fromisoformat(i["starts_at"]).astimezone(VN).date() for i in response.get_json()["items"]}
        assert offered and not offered & set(holiday_days()), day
        assert all(working_time.is_working_day(d) for d in offered)


def test_slots_never_before_now_and_keep_the_set_up_inside_the_hours(client, api_headers, sites):
    now = datetime.now(timezone.utc)
    response = client.get("/api/v1/slots", headers=api_headers("viewer"), query_string={
        "endpoint_ids": sites["hall"].id, "duration_minutes": 60, "limit": 50, "setup_minutes": 45,
        "from": (now - timedelta(days=3)).isoformat(), "to": (now + timedelta(days=10)).isoformat()})
    items = [datetime.fromisoformat(i["starts_at"]) for i in response.get_json()["items"]]
    assert items and min(items) >= now
    # 45 minutes of set-up from 07:30 and 13:30: the first sittings of a block are 08:15 and 14:15
    assert {t.astimezone(VN).strftime("%H:%M") for t in items} >= {"08:15"}
    assert not any(t.astimezone(VN).strftime("%H:%M") in ("07:30", "07:45", "08:00", "13:30", "14:00") for t in items)


def test_a_declared_working_saturday_is_offered(app, sites):
    saturday = next_monday(0).date() + timedelta(days=12)
    working_time.declare_day({"date": saturday, "kind": "working_day", "name": "Làm bù"})
    db.session.commit()
    window = (at(saturday, 0).astimezone(timezone.utc), at(saturday + timedelta(days=1), 0).astimezone(timezone.utc))
    found = slots.find_slots([sites["hall"]], timedelta(minutes=60), *window, limit=3)
    assert found and found[0][0] == at(saturday, 8).astimezone(timezone.utc)


def test_a_full_day_conference_runs_through_lunch_and_is_offered_a_whole_day(client, api_headers, sites):
    """08:00-17:00 is ordinary work: booked without a confirmation, and the finder offers whole days for it."""
    day = next_working_day().date()
    booked = client.post("/api/v1/meetings", headers=api_headers("scheduler"),
                         json=body(sites, at(day, 8), minutes=9 * 60, endpoint_ids=[sites["hall"].id]))
    assert booked.status_code == 201, booked.get_json()
    window = (at(day + timedelta(days=1), 0).astimezone(timezone.utc),
              at(day + timedelta(days=10), 0).astimezone(timezone.utc))
    found = slots.find_slots([sites["hall"]], timedelta(hours=8), *window, limit=3)
    assert [s.astimezone(VN).strftime("%H:%M") for s, _ in found] == ["08:00", "08:30", "09:00"]
    assert all(end.astimezone(VN).strftime("%H:%M") <= "17:00" for _, end in found)
    one_hour = slots.find_slots([sites["hall"]], timedelta(hours=1), *window, limit=50)
    assert not any(s.astimezone(VN).strftime("%H:%M") in ("11:00", "12:00") for s, _ in one_hour)  # not into lunch


def test_the_booking_page_suggests_no_past_and_no_holiday(client, login_as, sites, get_csrf):
    login_as("scheduler")
    day = tet_working_days()[1][0]
    data = form_data(sites, at(day, 8), get_csrf("/meetings/new"), endpoint_ids=[str(sites["hall"].id)],
                     action="slots")
    html = client.post("/meetings/new", data=data).get_data(as_text=True)
    import re
    offered = [date(int(y), int(m), int(d)) for y, m, d in re.findall(r'name="slot"\s+value="(\d{4})-(\d\d)-(\d\d)T', html)]
    assert offered and not set(offered) & set(tet_working_days()[1])


# -- series ------------------------------------------------------------------------------------


def test_weekly_series_skips_the_new_year_and_lists_it(client, api_headers, sites):
    new_year = new_year_weekday()
    start = at(new_year - timedelta(weeks=2), 8)
    headers = api_headers("scheduler")
    refused = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=5"))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "non_working_time"
    created = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=5", skip_non_working=True))
    assert created.status_code == 201, created.get_json()
    meeting = created.get_json()
    assert [s["starts_at"] for s in meeting["skipped"]] == [at(new_year, 8).astimezone(timezone.utc).isoformat()]
    assert "Tết Dương lịch" in meeting["skipped"][0]["reason"]
    assert [o["status"] for o in meeting["occurrences"]] == ["scheduled", "scheduled", "cancelled", "scheduled", "scheduled"]
    weekday = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu")[new_year.weekday()]
    last = new_year + timedelta(weeks=2)
    assert meeting["recurrence_text"] == (f"Hằng tuần vào {weekday}, 4 buổi ({start:%d/%m/%Y} – {last:%d/%m/%Y})")
    invite = client.get(f"/api/v1/meetings/{meeting['id']}/invite.ics", headers=headers).get_data(as_text=True)
    assert "EXDATE" in invite and new_year.strftime("%Y%m%d") in invite


def test_the_issues_example_in_words(app):
    starts = [datetime(2026, 12, 11, 8, tzinfo=VN) + timedelta(weeks=i) for i in range(8)]
    assert series.describe_series("FREQ=WEEKLY;BYDAY=FR;UNTIL=20270129T165959Z", starts) == (
        "Hằng tuần vào Thứ Sáu, 8 buổi (11/12/2026 – 29/01/2027)")
    from flask_babel import force_locale

    with force_locale("en"):
        assert series.describe_series("FREQ=WEEKLY;BYDAY=FR;COUNT=8", starts) == (
            "Weekly on Friday, 8 sittings (11/12/2026 – 29/01/2027)")
        assert series.describe_series("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", starts[:1]).startswith(
            "Monthly on the last day")
        assert series.describe_series("FREQ=MONTHLY;BYDAY=1MO;COUNT=3", starts[:1]).startswith("Monthly on the first Monday")
    assert series.describe_series("FREQ=MONTHLY;BYDAY=-1MO;COUNT=3", starts[:1]).startswith(
        "Hằng tháng vào Thứ Hai cuối cùng")
    assert series.describe_series(None, starts) == ""


def test_conflicting_sittings_are_skipped_on_request(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    book([a], start + timedelta(weeks=1), chair=a)
    meeting = book([hall, a], start, recurrence="FREQ=WEEKLY;COUNT=3", skip_conflicting=True)
    assert [s["starts_at"] for s in meeting.skipped] == [(start + timedelta(weeks=1)).astimezone(timezone.utc).isoformat()]
    assert "bận" in meeting.skipped[0]["reason"]
    assert [o.status for o in meeting.occurrences] == ["scheduled", "cancelled", "scheduled"]


def test_monthly_on_the_last_day(client, api_headers, sites):
    first = coming(1, 15)
    start = at(first, 9)
    created = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6",
        skip_non_working=True))
    assert created.status_code == 201, created.get_json()
    meeting = created.get_json()
    starts = [datetime.fromisoformat(o["starts_at"]).astimezone(VN).date() for o in meeting["occurrences"]]
    # every month, February included: the last day of each, never dropped
    assert [(d.month, (d + timedelta(days=1)).day) for d in starts] == [(m, 1) for m in range(1, 7)]
    assert datetime.fromisoformat(meeting["starts_at"]).astimezone(VN).date() == starts[0]  # DTSTART is the first
    skipped_days = {datetime.fromisoformat(s["starts_at"]).astimezone(VN).date() for s in meeting["skipped"]}
    assert skipped_days == {d for d in starts if not working_time.is_working_day(d)}
    assert meeting["recurrence_text"].startswith("Hằng tháng vào ngày cuối tháng")


def test_monthly_on_the_first_monday_from_the_form(client, login_as, sites, get_csrf):
    login_as("scheduler")
    day = coming(3, 10)
    data = form_data(sites, at(day, 8), get_csrf("/meetings/new"), endpoint_ids=[str(sites["hall"].id)],
                     frequency="MONTHLY", monthly_by="first_weekday", repeat_count="4", skip_non_working="y",
                     action="confirm")
    data["day"] = day.strftime("%d/%m/%Y")
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = db.session.scalars(sa.select(Meeting)).one()
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]
    assert meeting.recurrence == f"FREQ=MONTHLY;BYDAY=1{weekday};COUNT=4"
    for occurrence in meeting.occurrences:
        local = occurrence.original_starts_at.astimezone(VN)
        assert local.weekday() == day.weekday() and local.day <= 7


def test_a_plain_monthly_rule_on_the_31st_warns_before_booking(client, login_as, sites, get_csrf):
    login_as("scheduler")
    day = coming(1, 31)
    data = form_data(sites, at(day, 8), get_csrf("/meetings/new"), endpoint_ids=[str(sites["hall"].id)],
                     frequency="MONTHLY", monthly_by="day", repeat_count="3", skip_non_working="y",
                     allow_non_working_time="y")
    shown = client.post("/meetings/new", data=data)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'data-testid="series-warning"' in html and "ngày 31" in html
    assert count(Meeting) == 0
    assert client.post("/meetings/new", data={**data, "action": "confirm"}).status_code == 302
    meeting = db.session.scalars(sa.select(Meeting)).one()
    assert "ngày 31" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_the_form_previews_skipped_sittings_before_booking(client, login_as, sites, get_csrf):
    login_as("scheduler")
    new_year = new_year_weekday()
    start = at(new_year - timedelta(weeks=1), 9)
    data = form_data(sites, start, get_csrf("/meetings/new"), endpoint_ids=[str(sites["hall"].id)],
                     frequency="WEEKLY", weekdays=[("MO", "TU", "WE", "TH", "FR")[new_year.weekday()]],
                     repeat_count="3", skip_non_working="y")
    preview = client.post("/meetings/new", data=data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'data-testid="skipped-sitting"' in html
    assert new_year.strftime("%d/%m/%Y") in html.split('data-testid="skipped-sittings"')[1].split("</ul>")[0]
    assert count(Meeting) == count(Occurrence) == count(OutboxMail) == 0
    booked = client.post("/meetings/new", data={**data, "action": "confirm"})
    assert booked.status_code == 302
    meeting = db.session.scalars(sa.select(Meeting)).one()
    assert [o.status for o in meeting.occurrences] == ["scheduled", "cancelled", "scheduled"]
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Tết Dương lịch" in page and "FREQ=" not in page.split('data-testid="recurrence-text"')[1][:300]


# -- no lost updates ---------------------------------------------------------------------------


def test_a_stale_if_match_gets_412_and_changes_nothing(client, api_headers, sites):
    headers = api_headers("scheduler")
    created = client.post("/api/v1/meetings", headers=headers, json=body(sites, next_monday(8), endpoint_ids=[sites["hall"].id]))
    meeting_id = created.get_json()["id"]
    etag = client.get(f"/api/v1/meetings/{meeting_id}", headers=headers).headers["ETag"]
    assert etag and etag == created.headers["ETag"]
    first = client.patch(f"/api/v1/meetings/{meeting_id}", headers={**headers, "If-Match": etag},
                         json={"title": "Giao ban (người thứ nhất)"})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = client.patch(f"/api/v1/meetings/{meeting_id}", headers={**headers, "If-Match": etag},
                         json={"title": "Giao ban (người thứ hai)"})
    assert stale.status_code == 412
    error = stale.get_json()["error"]
    assert error["code"] == "precondition_failed" and "người thứ nhất" in error["changes"][0]["summary"] + first.get_json()["title"]
    db.session.expire_all()
    assert db.session.get(Meeting, meeting_id).title == "Giao ban (người thứ nhất)"
    assert client.patch(f"/api/v1/meetings/{meeting_id}", headers={**headers, "If-Match": first.headers["ETag"]},
                        json={"title": "Giao ban (người thứ hai)"}).status_code == 200
    assert client.patch(f"/api/v1/meetings/{meeting_id}", headers={**headers, "If-Match": "*"},
                        json={"title": "Giao ban (ai cũng được)"}).status_code == 200


def test_a_stale_form_is_refused_showing_what_changed(client, login_as, api_headers, sites, book, get_csrf):
    from tests.booking.test_views import shown_form

    meeting = book([sites["hall"]], next_monday(8), title="Giao ban")
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    stale = shown_form(client, path, description="Nội dung mới của người thứ hai")
    client.patch(f"/api/v1/meetings/{meeting.id}", headers=api_headers("admin"), json={"title": "Giao ban (đã đổi)"})
    refused = client.post(path, data=stale)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'data-testid="stale"' in html and "Giao ban (đã đổi)" in html
    db.session.expire_all()
    kept = db.session.get(Meeting, meeting.id)
    assert kept.title == "Giao ban (đã đổi)" and kept.description == ""
    # the second save, made knowing what changed, goes through
    again = shown_form(client, path, description="Nội dung mới của người thứ hai")
    assert client.post(path, data=again).status_code == 302


def test_an_edit_posted_without_its_version_is_taken_as_stale(client, login_as, sites, book):
    """A script (or a page from before versions) that leaves the version out cannot save over unseen changes."""
    from tests.booking.test_views import shown_form

    meeting = book([sites["hall"]], next_monday(8), title="Giao ban")
    login_as("scheduler")
    path = f"/meetings/{meeting.id}/edit"
    blind = shown_form(client, path, title="Giao ban (không biết phiên bản)")
    blind.pop("version")
    refused = client.post(path, data=blind)
    assert refused.status_code == 409 and 'data-testid="stale"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).title == "Giao ban"


# -- units on the local day --------------------------------------------------------------------


def test_a_06_00_booking_on_a_reorganisation_day_reads_that_days_units(client, api_headers, make_unit, make_endpoint,
                                                                      district, sites):
    merge_day = coming(3, 1)
    old = make_unit("Xã Cũ", "xã", parent=district, valid_to=merge_day - timedelta(days=1))
    new = make_unit("Xã Mới", "xã", parent=district, valid_from=merge_day)
    on_old = make_endpoint("UBND xã Cũ", unit=old)
    on_new = make_endpoint("UBND xã Mới", unit=new)
    start = at(merge_day, 6)  # 23:00 UTC the day before: the old tree, if read on the UTC date
    created = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=body(
        sites, start, unit_ids=[district.id], allow_non_working_time=True))
    assert created.status_code == 201, created.get_json()
    ids = set(created.get_json()["endpoint_ids"])
    assert on_new.id in ids and on_old.id not in ids


# -- cancelling --------------------------------------------------------------------------------


def test_a_cancel_without_confirmation_changes_nothing(client, api_headers, sites):
    headers = api_headers("scheduler")
    created = client.post("/api/v1/meetings", headers=headers, json=body(
        sites, next_monday(8), endpoint_ids=[sites["hall"].id], attendees=["vanphong@langson.gov.vn"],
        recurrence="FREQ=WEEKLY;COUNT=2"))
    meeting = created.get_json()
    mails = count(OutboxMail)
    for json in (None, {}, {"confirm": "yes"}, {"reason": "Đổi lịch"}):
        refused = client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=headers, json=json)
        assert refused.status_code == 400 and "confirm" in refused.get_json()["error"]["fields"]
        one = client.post(f"/api/v1/meetings/{meeting['id']}/occurrences/{meeting['occurrences'][0]['id']}/cancel",
                          headers=headers, json=json)
        assert one.status_code == 400
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting["id"])
    assert stored.status == "scheduled" and stored.sequence == 0 and count(OutboxMail) == mails
    assert all(o.status == "scheduled" for o in stored.occurrences)
    done = client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=headers,
                       json={"confirm": True, "reason": "Trùng lịch tiếp khách quốc tế"})
    assert done.status_code == 200 and done.get_json()["cancel_reason"] == "Trùng lịch tiếp khách quốc tế"
    cancel = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.method == "CANCEL")).first()
    assert cancel is not None and "Trùng lịch tiếp khách quốc tế" in _plain(message_for_display(cancel))


def _plain(raw):
    import email
    from email import policy

    return email.message_from_string(raw, policy=policy.default).get_body(preferencelist=("plain",)).get_content()


# -- book without the busy sites ---------------------------------------------------------------


def test_skipping_busy_sites_is_not_offered_when_the_chair_is_busy(client, login_as, sites, book, get_csrf):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    book([hall], start, title="Họp UBND tỉnh")
    login_as("scheduler")
    data = form_data(sites, start, get_csrf("/meetings/new"), endpoint_ids=[str(hall.id), str(a.id)])
    html = client.post("/meetings/new", data=data).get_data(as_text=True)
    assert 'data-testid="chair-busy"' in html and 'data-testid="skip-busy"' not in html
    other = book([a], start + timedelta(hours=6), chair=a, title="Tiếp dân")
    data = form_data(sites, start + timedelta(hours=6), get_csrf("/meetings/new"), endpoint_ids=[str(hall.id), str(a.id)])
    html = client.post("/meetings/new", data=data).get_data(as_text=True)
    assert 'data-testid="skip-busy"' in html and 'data-testid="chair-busy"' not in html and other.id


# -- strict API input --------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"title": 123}, "title"),
    ({"title": ["Giao ban"]}, "title"),
    ({"description": {"a": 1}}, "description"),
    ({"chair_endpoint_id": True}, "chair_endpoint_id"),
    ({"chair_endpoint_id": 30.5}, "chair_endpoint_id"),
    ({"chair_endpoint_id": "abc"}, "chair_endpoint_id"),
    ({"endpoint_ids": [True]}, "endpoint_ids"),
    ({"endpoint_ids": [1.5]}, "endpoint_ids"),
    ({"bridge_id": 2.5}, "bridge_id"),
    ({"setup_minutes": 30.5}, "setup_minutes"),
    ({"setup_minutes": True}, "setup_minutes"),
    ({"recurrence": 5}, "recurrence"),
    ({"starts_at": "1970-01-01T08:00:00+07:00", "ends_at": "1970-01-01T09:00:00+07:00"}, "starts_at"),
    ({"starts_at": "9999-12-31T08:00:00+07:00", "ends_at": "9999-12-31T09:00:00+07:00"}, "starts_at"),
    ({"starts_at": 1767225600}, "starts_at"),
    ({"attendees": [f"nguoi{i}@langson.gov.vn" for i in range(501)]}, "attendees"),
    ({"attendees": [5]}, "attendees"),
    ({"skip_non_working": 1}, "skip_non_working"),
    ({"skip_conflicting": "true"}, "skip_conflicting"),
])
def test_strict_api_input_names_the_field(client, api_headers, sites, change, field):
    data = {**body(sites, next_monday(8), endpoint_ids=[sites["hall"].id]), **change}
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=data)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(Meeting) == 0


def test_five_hundred_attendees_are_fine(client, api_headers, sites):
    data = body(sites, next_monday(8), endpoint_ids=[sites["hall"].id],
                attendees=[f"nguoi{i}@langson.gov.vn" for i in range(500)])
    assert client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=data).status_code == 201


def test_a_window_of_1970_is_refused(client, api_headers):
    response = client.get("/api/v1/meetings", headers=api_headers("viewer"), query_string={
        "from": "1970-01-01T00:00:00+00:00", "to": "1970-01-02T00:00:00+00:00"})
    assert response.status_code == 400 and "from" in response.get_json()["error"]["fields"]


def test_the_service_raises_non_working_time_for_a_saturday(sites, book):
    saturday = next_monday(8) - timedelta(days=2)
    with pytest.raises(NonWorkingTime) as raised:
        book([sites["hall"]], saturday)
    assert raised.value.details["sittings"][0]["reason"].startswith("Thứ Bảy")
    db.session.rollback()
    assert count(Meeting) == 0


def test_the_series_badge_header_and_preview_count_the_same_sittings(client, api_headers, login_as, sites):
    """Eight weekly sittings, one on Tết Dương lịch skipped: the page's badge says 7, as its words do."""
    new_year = new_year_weekday()
    start = at(new_year - timedelta(weeks=3), 8)
    created = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json=body(
        sites, start, endpoint_ids=[sites["hall"].id], recurrence="FREQ=WEEKLY;COUNT=8", skip_non_working=True))
    assert created.status_code == 201, created.get_json()
    meeting = created.get_json()
    assert len(meeting["occurrences"]) == 8 and len(meeting["skipped"]) == 1
    assert ", 7 buổi (" in meeting["recurrence_text"]
    login_as("viewer")
    html = page_text(client.get(f"/meetings/{meeting['id']}"))
    assert re.search(r'data-testid="sitting-count">7<', html), re.findall(r'data-testid="sitting-count">[^<]*', html)
    assert ", 7 buổi (" in html
    assert re.search(r'data-testid="sittings-off">và 1 buổi không họp', html)
