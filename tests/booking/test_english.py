"""The booking rules' messages on English pages: said in English where a page shows them, Vietnamese elsewhere.

The service keeps its Vietnamese (the API, files, mails and logs use it word for word); the booking form,
the move page and the calendar's JSON say it in the page's language through `text.shown`.
"""

from datetime import timedelta

import holidays
import pytest

from tests.booking.conftest import next_monday
from tests.booking.test_views import form_data
from tests.conftest import page_text, shown_in_english, switch_to_english
from vmeeting.booking import service, validation
from vmeeting.core.errors import Conflict, NonWorkingTime, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import format_datetime



def a_saturday():
    """A coming Saturday at 08:00 that is no public holiday: its only reason is the weekend."""
    saturday = next_monday(8) + timedelta(days=5)
    while saturday.date() in holidays.country_holidays("VN", years=saturday.year):
        saturday += timedelta(days=7)
    return saturday


@pytest.fixture
def busy(sites, book):
    """A commune site booked on a coming Monday 08:00–09:00; returns (site, start)."""
    site, start = sites["communes"][0], next_monday(8)
    book([site], start, chair=site, title="Họp xã")
    return site, start


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_conflict_on_the_booking_form_is_in_the_pages_language(client, login_as, sites, district, busy, get_csrf,
                                                                  lang):
    site, start = busy
    login_as("scheduler")
    if lang == "en":
        switch_to_english(client, "/meetings")
    response = client.post("/meetings/new", data=form_data(sites, start, get_csrf("/meetings/new"),
                                                          unit_ids=str(district.id)))
    assert response.status_code == 409
    html = page_text(response)
    if lang == "en":
        assert f"Sites already busy at this time (1): {site.name}." in html
        assert "điểm cầu đã bận" not in html
    else:
        assert f"1 điểm cầu đã bận vào thời gian này: {site.name}." in html


def test_the_api_keeps_the_vietnamese_whatever_the_page_language(client, login_as, sites, busy, get_csrf,
                                                                 api_headers):
    site, start = busy
    login_as("scheduler")
    switch_to_english(client, "/meetings")  # the client's session reads English; the API answers as it always does
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json={
        "title": "Hội nghị", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": sites["hall"].id, "endpoint_ids": [site.id]})
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == f"1 điểm cầu đã bận vào thời gian này: {site.name}."

    saturday = a_saturday()
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json={
        "title": "Hội nghị", "starts_at": saturday.isoformat(), "ends_at": (saturday + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": sites["hall"].id, "endpoint_ids": [sites["hall"].id]})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "non_working_time"
    assert error["message"] == (f"Buổi họp {format_datetime(saturday)}: Thứ Bảy, không phải ngày làm việc. "
                                "Muốn họp vào thời gian này, hãy xác nhận rõ (allow_non_working_time).")
    assert error["sittings"][0]["reason"] == "Thứ Bảy, không phải ngày làm việc"


def test_a_non_working_day_is_named_in_english_with_its_reason(client, login_as, sites, book, get_csrf):
    saturday = a_saturday()
    login_as("scheduler")
    switch_to_english(client, "/meetings")
    response = client.post("/meetings/new", data=form_data(sites, saturday, get_csrf("/meetings/new"),
                                                          endpoint_ids=str(sites["hall"].id)))
    assert response.status_code == 409
    html = page_text(response)
    listed = f'data-testid="non-working-sitting">Saturday {format_datetime(saturday)}: Saturday, not a working day<'
    assert listed in html
    assert "không phải ngày làm việc" not in html

    series = book([sites["hall"]], next_monday(8), recurrence="FREQ=WEEKLY;COUNT=2")
    path = f"/meetings/{series.id}/occurrences/{series.occurrences[0].id}/move"
    response = client.post(path, data={"csrf_token": get_csrf(path), "day": saturday.strftime("%d/%m/%Y"),
                                       "start_time": "08:00", "end_time": "09:00", "version": "0"})
    assert response.status_code == 409
    html = page_text(response)
    assert (f"Sitting {format_datetime(saturday)}: Saturday, not a working day. To meet at this time, "
            "confirm it explicitly (allow_non_working_time).") in html
    assert "không phải ngày làm việc" not in html


def test_a_fields_reason_is_in_english_on_the_form_and_vietnamese_in_the_service(client, login_as, sites,
                                                                                 get_csrf):
    login_as("scheduler")
    data = form_data(sites, next_monday(8), get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id),
                     attendees="khong-phai-thu")
    assert "Địa chỉ thư «khong-phai-thu» không hợp lệ." in page_text(client.post("/meetings/new", data=data))
    switch_to_english(client, "/meetings")
    response = client.post("/meetings/new", data=data)
    assert response.status_code == 400
    html = page_text(response)
    assert "The e-mail address “khong-phai-thu” is not valid." in html and "Địa chỉ thư" not in html
    with pytest.raises(ValidationError) as caught:  # the service's own words stay Vietnamese
        service.validate_meeting({"title": "Họp", "starts_at": next_monday(8), "ends_at": next_monday(9),
                                  "chair_endpoint_id": sites["hall"].id, "attendees": "khong-phai-thu"})
    assert caught.value.fields["attendees"] == "Địa chỉ thư «khong-phai-thu» không hợp lệ."


def test_a_refused_calendar_move_answers_in_the_pages_language(client, login_as, sites, busy, book, get_csrf):
    site, start = busy
    later = book([sites["hall"], site], start + timedelta(hours=3), chair=sites["hall"])
    login_as("scheduler")
    switch_to_english(client, "/meetings")
    token = get_csrf("/calendar")
    occurrence = later.occurrences[0]
    day = start.date().isoformat()
    clash = client.post("/calendar/move", headers={"X-CSRFToken": token}, json={
        "occurrence_id": occurrence.id, "starts_at": f"{day}T08:00", "ends_at": f"{day}T09:00", "version": "0"})
    assert clash.status_code == 409
    assert clash.get_json()["error"]["message"] == f"Sites already busy at this time (1): {site.name}."

    saturday = a_saturday().date().isoformat()
    weekend = client.post("/calendar/move", headers={"X-CSRFToken": token}, json={
        "occurrence_id": occurrence.id, "starts_at": f"{saturday}T08:00", "ends_at": f"{saturday}T09:00", "version": "0"})
    assert weekend.status_code == 409
    error = weekend.get_json()["error"]
    assert error["code"] == "non_working_time" and "Saturday, not a working day" in error["message"]
    assert error["sittings"][0]["reason"] == "Saturday, not a working day"

    bad = client.post("/calendar/move", headers={"X-CSRFToken": token}, json={
        "occurrence_id": occurrence.id, "starts_at": "x", "ends_at": f"{day}T09:00", "allow_non_working_time": "yes"})
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["message"] == "Invalid data."
    assert error["fields"] == {"starts_at": "An ISO 8601 date and time is needed, e.g. 2026-12-07T08:00.",
                               "allow_non_working_time": "Must be true or false."}


def test_a_refused_move_of_a_sitting_is_in_english_on_the_move_page(client, login_as, sites, busy, book, get_csrf):
    site, start = busy
    series = book([sites["hall"], site], start + timedelta(hours=3), chair=sites["hall"],
                  recurrence="FREQ=WEEKLY;COUNT=2")
    occurrence = series.occurrences[0]
    login_as("scheduler")
    switch_to_english(client, "/meetings")
    path = f"/meetings/{series.id}/occurrences/{occurrence.id}/move"
    response = client.post(path, data={"csrf_token": get_csrf(path), "day": start.strftime("%d/%m/%Y"),
                                       "start_time": "08:00", "end_time": "09:00", "version": "0"})
    assert response.status_code == 409
    assert f"Sites already busy at this time (1): {site.name}." in page_text(response)


def test_messages_with_values_keep_their_vietnamese_and_translate_what_they_hold(app, sites, busy):
    """The service's sentences are the Vietnamese text, byte for byte; a reason inside one is a Sentence too."""
    site, start = busy
    choice = service.resolve_sites(endpoint_ids=[site.id])
    data = {"title": "Họp", "starts_at": start, "ends_at": start + timedelta(hours=1), "chair_endpoint_id": site.id}
    with pytest.raises(Conflict) as caught:
        service.book_meeting(data, choice)
    db.session.rollback()
    assert caught.value.message == f"1 điểm cầu đã bận vào thời gian này: {site.name}."
    assert caught.value.message.msgid == "%(count)s điểm cầu đã bận vào thời gian này: %(sites)s."
    saturday = a_saturday()
    with pytest.raises(NonWorkingTime) as caught:
        service.book_meeting({**data, "starts_at": saturday, "ends_at": saturday + timedelta(hours=1)}, choice)
    db.session.rollback()
    reason = caught.value.message.params["reason"]
    assert reason == "Thứ Bảy, không phải ngày làm việc" and reason.msgid == "%(reason)s, không phải ngày làm việc"


def test_a_skipped_sittings_reason_is_in_english_in_the_series_plan(client, login_as, sites, busy, get_csrf):
    site, start = busy  # the series' first sitting: left out, the site is busy
    login_as("scheduler")
    switch_to_english(client, "/meetings")
    response = client.post("/meetings/new", data=form_data(
        sites, start, get_csrf("/meetings/new"), endpoint_ids=str(site.id), frequency="WEEKLY", weekdays="MO",
        repeat_interval="1", repeat_count="2", skip_conflicting="y"))
    assert response.status_code == 200
    html = page_text(response)
    assert 'data-testid="skipped-sitting"' in html
    assert f"{format_datetime(start)}: Sites already busy at this time (1): {site.name}.</li>" in html
    assert "điểm cầu đã bận" not in html


def test_the_forms_own_reasons_are_in_english(client, login_as, sites, get_csrf):
    login_as("scheduler")
    switch_to_english(client, "/meetings")
    data = form_data(sites, next_monday(8), get_csrf("/meetings/new"), endpoint_ids=str(sites["hall"].id),
                     end_time="07:00", title="", frequency="WEEKLY", repeat_count="2")
    html = page_text(client.post("/meetings/new", data=data))
    for reason in ("The end time must be after the start time.", "Enter the meeting's title.",
                   "Choose at least one day of the week."):
        assert reason in html
    assert "Giờ kết thúc phải sau" not in html and "Nhập tên cuộc họp" not in html


def test_a_day_outside_the_calendar_is_refused_in_the_pages_language(client, login_as, sites, get_csrf):
    """Every form's date bound (bounds.check_day) reads in English on an English page, in Vietnamese otherwise."""
    login_as("scheduler")
    data = form_data(sites, next_monday(8), get_csrf("/meetings/new"))
    vietnamese = page_text(client.post("/meetings/new", data={**data, "day": "01/01/1800"}))
    assert "Ngày phải từ 01/01/1900 đến 31/12/2999." in vietnamese
    switch_to_english(client, "/meetings")
    data["csrf_token"] = get_csrf("/meetings/new")
    html = page_text(client.post("/meetings/new", data={**data, "day": "01/01/1800"}))
    assert "The date must be between 01/01/1900 and 31/12/2999." in html and "Ngày phải từ" not in html


def test_many_busy_sites_are_counted_without_an_english_plural_slip(app):
    """The sixth busy site on is counted, "and 1 more." rather than "and 1 more sites"."""
    conflicts = [{"endpoint_name": f"UBND xã Thử {n}"} for n in range(6)]
    message = validation.conflict_message(conflicts, [])
    assert message.endswith("UBND xã Thử 4 và 1 điểm cầu khác.")
    assert shown_in_english(app, message) == (
        "Sites already busy at this time (6): UBND xã Thử 0, UBND xã Thử 1, UBND xã Thử 2, UBND xã Thử 3, "
        "UBND xã Thử 4 and 1 more.")
