"""The working calendar: public holidays, declared days, working hours; its API and its page."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.working_time.dates import at, coming, tet_working_days
from tests.conftest import switch_to_english
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.working_time import service
from vmeeting.working_time.models import DeclaredDay


def test_public_holidays_tet_and_the_hung_kings_day(app):
    items = {item["date"]: item for item in service.year_items(2027)}
    for day in ("2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"):
        assert items[day]["kind"] == "holiday" and "Tết" in items[day]["name"]
    assert "Hùng Vương" in items["2027-04-16"]["name"]  # 10/3 âm lịch
    assert items["2027-04-30"]["kind"] == items["2027-09-02"]["kind"] == "holiday"
    assert not service.is_working_day(date(2027, 2, 8)) and not service.is_working_day(date(2027, 2, 6))
    assert service.is_working_day(date(2027, 2, 11))


def test_working_hours_and_the_reason_outside(app):
    monday = date(2027, 3, 1)
    assert service.is_working_time(at(monday, 8), at(monday, 11, 30))
    assert service.is_working_time(at(monday, 13, 30), at(monday, 17))
    calendar = service.calendar_between(at(monday, 0), at(monday, 23))
    assert "ngoài giờ làm việc" in calendar.reason_outside(at(monday, 6), at(monday, 7))
    assert not calendar.reason_outside(at(monday, 8), at(monday, 17))  # a full day, through lunch
    assert not calendar.reason_outside(at(monday, 10), at(monday, 12))  # running into lunch
    assert "ngoài giờ làm việc" in calendar.reason_outside(at(monday, 12), at(monday, 13))  # starts at lunch
    assert "ngoài giờ làm việc" in calendar.reason_outside(at(monday, 11, 30), at(monday, 12))  # at the break
    assert "ngoài giờ làm việc" in calendar.reason_outside(at(monday, 16, 30), at(monday, 17, 30))
    saturday = date(2027, 3, 6)
    assert "Thứ Bảy" in service.calendar_between(at(saturday, 8), at(saturday, 9)).reason_outside(
        at(saturday, 8), at(saturday, 9))


def test_the_hours_come_from_configuration(app):
    app.config["WORKING_HOURS"] = (("08:00", "12:00"), ("13:00", "17:00"))
    monday = date(2027, 3, 1)
    assert not service.is_working_time(at(monday, 7, 30), at(monday, 8))
    assert service.is_working_time(at(monday, 11), at(monday, 12))
    assert service.hours_text() == "08:00–12:00, 13:00–17:00"


def test_config_refuses_hours_that_run_backwards_or_overlap():
    from config import _hours

    assert _hours("13:30-17:00, 07:30-11:30") == (("07:30", "11:30"), ("13:30", "17:00"))
    for bad in ("11:30-07:30", "07:30-12:00,11:00-17:00", "7h-11h"):
        with pytest.raises(ValueError):
            _hours(bad)


def test_declared_days_turn_a_saturday_into_work_and_a_weekday_into_rest(app):
    saturday, friday = date(2027, 3, 6), date(2027, 3, 12)
    service.declare_day({"date": "2027-03-06", "kind": "working_day", "name": "Làm bù cho ngày 12/3"})
    service.declare_day({"date": friday, "kind": "day_off", "name": "Nghỉ bù"})
    db.session.commit()
    assert service.is_working_day(saturday) and not service.is_working_day(friday)
    assert service.is_working_time(at(saturday, 8), at(saturday, 9))
    kinds = {item["date"]: item["kind"] for item in service.year_items(2027)}
    assert kinds["2027-03-06"] == "working_day" and kinds["2027-03-12"] == "day_off"
    service.remove_day("2027-03-06")
    db.session.commit()
    assert not service.is_working_day(saturday)


@pytest.mark.parametrize("data, field", [
    ({"date": "2027-03-08", "kind": "working_day", "name": "x"}, "date"),   # a Monday works anyway
    ({"date": "2027-03-06", "kind": "day_off", "name": "x"}, "date"),       # a Saturday rests anyway
    ({"date": "2027-09-02", "kind": "day_off", "name": "x"}, "date"),       # a holiday already
    ({"date": "06/03/2027", "kind": "working_day", "name": "x"}, "date"),
    ({"date": "2027-03-06", "kind": "holiday", "name": "x"}, "kind"),
    ({"date": "2027-03-06", "kind": "working_day", "name": ""}, "name"),
    ({"date": "9999-03-06", "kind": "working_day", "name": "x"}, "date"),
])
def test_bad_declarations_name_the_field(app, data, field):
    with pytest.raises(ValidationError) as raised:
        service.declare_day(data)
    assert field in raised.value.fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeclaredDay)) == 0


def test_a_day_is_declared_once(app):
    service.declare_day({"date": "2027-03-06", "kind": "working_day", "name": "Làm bù"})
    with pytest.raises(Conflict):
        service.declare_day({"date": "2027-03-06", "kind": "working_day", "name": "Làm bù"})


def test_next_working_days_skip_tet(app):
    year, tet = tet_working_days()
    days = service.next_working_days(tet[0] - timedelta(days=1), 3)
    assert not set(days) & set(tet) and all(d.weekday() < 5 for d in days)


# -- the API ----------------------------------------------------------------------------------


def test_api_lists_declares_and_removes(client, api_headers):
    admin, viewer = api_headers("admin"), api_headers("viewer")
    listed = client.get("/api/v1/holidays?year=2027", headers=viewer)
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert {"date": "2027-02-08", "name": "Mùng ba Tết Nguyên Đán", "kind": "holiday"} in items
    body = {"date": "2027-03-06", "kind": "working_day", "name": "Làm bù"}
    assert client.post("/api/v1/holidays", headers=viewer, json=body).status_code == 403
    assert client.post("/api/v1/holidays", headers=api_headers("scheduler"), json=body).status_code == 403
    created = client.post("/api/v1/holidays", headers=admin, json=body)
    assert created.status_code == 201 and created.get_json() == body
    assert client.post("/api/v1/holidays", headers=admin, json=body).status_code == 409
    assert body in client.get("/api/v1/holidays?year=2027", headers=viewer).get_json()["items"]
    assert client.delete("/api/v1/holidays/2027-03-06", headers=admin).status_code == 204
    assert client.delete("/api/v1/holidays/2027-03-06", headers=admin).status_code == 404
    assert client.delete("/api/v1/holidays/2027-02-08", headers=admin).status_code == 404  # a public holiday stays
    assert client.delete("/api/v1/holidays/nonsense", headers=admin).status_code == 400


@pytest.mark.parametrize("query", ["year=abc", "year=1970", "year=99999", "year=2027.5"])
def test_api_refuses_a_bad_year(client, api_headers, query):
    response = client.get(f"/api/v1/holidays?{query}", headers=api_headers("viewer"))
    assert response.status_code == 400 and "year" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("body, field", [
    ({"date": 20270306, "kind": "working_day", "name": "x"}, "date"),
    ({"date": "2027-03-06", "kind": True, "name": "x"}, "kind"),
    ({"date": "2027-03-06", "kind": "working_day", "name": 5}, "name"),
])
def test_api_refuses_wrong_types(client, api_headers, body, field):
    response = client.post("/api/v1/holidays", headers=api_headers("admin"), json=body)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


# -- the page ---------------------------------------------------------------------------------


def test_everyone_reads_the_year(client, login_as):
    login_as("viewer")
    html = client.get("/working-calendar?year=2027").get_data(as_text=True)
    assert "Mùng ba Tết Nguyên Đán" in html and "Khai báo ngày" not in html
    assert client.post("/working-calendar?year=2027", data={}).status_code in (400, 403)


def test_admins_declare_on_the_page(client, login_as, get_csrf):
    login_as("admin")
    token = get_csrf("/working-calendar?year=2027")
    refused = client.post("/working-calendar?year=2027", data={
        "csrf_token": token, "day": "08/03/2027", "kind": "working_day", "name": "Làm bù"})
    assert refused.status_code == 400 and "Thứ Bảy hoặc Chủ Nhật" in refused.get_data(as_text=True)
    done = client.post("/working-calendar?year=2027", data={
        "csrf_token": token, "day": "06/03/2027", "kind": "working_day", "name": "Làm bù cho ngày 12/3"})
    assert done.status_code == 302
    assert "Làm bù cho ngày 12/3" in client.get("/working-calendar?year=2027").get_data(as_text=True)
    assert client.post("/working-calendar/2027-03-06/delete", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeclaredDay)) == 0


def test_only_admins_change_the_calendar_page(client, login_as, get_csrf):
    login_as("scheduler")
    token = get_csrf("/working-calendar")
    response = client.post("/working-calendar", data={"csrf_token": token, "day": "06/03/2027",
                                                      "kind": "working_day", "name": "x"})
    assert response.status_code == 403
    assert client.post("/working-calendar/2027-03-06/delete", data={"csrf_token": token}).status_code == 403
    assert coming(9, 2) > date.today()


def test_a_public_holiday_cannot_be_declared_a_working_day(client, api_headers):
    """Tết's Saturday stays a holiday: a working day declared on it is refused, naming the date."""
    answer = client.post("/api/v1/holidays", headers=api_headers("admin"),
                         json={"date": "2027-02-06", "name": "Làm bù", "kind": "working_day"})
    assert answer.status_code == 400 and "date" in answer.get_json()["error"]["fields"]
    assert not service.is_working_day(date(2027, 2, 6))


def test_the_page_refuses_a_declaration_in_its_language_and_the_api_in_vietnamese(client, login_as, get_csrf,
                                                                                  api_headers):
    """A day declared twice, a weekday made a working day, a holiday declared off: English on the English page."""
    login_as("admin")
    page = "/working-calendar?year=2027"
    token = get_csrf(page)
    saturday = {"csrf_token": token, "day": "06/03/2027", "kind": "working_day", "name": "Làm bù"}
    assert client.post(page, data=saturday).status_code == 302
    switch_to_english(client, "/working-calendar")
    twice = client.post(page, data=saturday)
    html = twice.get_data(as_text=True)
    assert twice.status_code == 400
    assert "06/03/2027 is already declared; delete that declaration first." in html and "đã được khai báo" not in html
    weekday = client.post(page, data={**saturday, "day": "08/03/2027"}).get_data(as_text=True)
    assert "A make-up working day must be a Saturday or a Sunday." in weekday and "Thứ Bảy hoặc" not in weekday
    holiday = client.post(page, data={**saturday, "day": "02/09/2027", "kind": "day_off"}).get_data(as_text=True)
    assert "This day is a public holiday already (National Day)." in holiday and "ngày lễ (" not in holiday
    api = client.post("/api/v1/holidays", headers=api_headers("admin"),
                      json={"date": "2027-03-06", "name": "Làm bù", "kind": "working_day"})
    assert api.status_code == 409
    assert api.get_json()["error"]["message"] == "Ngày 06/03/2027 đã được khai báo; xóa khai báo cũ trước."
    api = client.post("/api/v1/holidays", headers=api_headers("admin"),
                      json={"date": "2027-09-02", "name": "Nghỉ", "kind": "day_off"})
    assert api.get_json()["error"]["fields"]["date"] == "Ngày này đã là ngày lễ (Quốc khánh)."
    client.post("/lang/vi", data={"csrf_token": token})
    html = client.post(page, data=saturday).get_data(as_text=True)
    assert "Ngày 06/03/2027 đã được khai báo; xóa khai báo cũ trước." in html


def test_a_day_in_lieu_a_swapped_day_off_and_the_saturday_worked_are_each_named(app):
    """2023-01-02 is off in lieu of New Year's Day (a Sunday); 2024: Monday 29/04 off, Saturday 04/05 worked."""
    items = {item["date"]: item for year in (2023, 2024) for item in service.year_items(year)}
    assert items["2023-01-02"]["kind"] == "in_lieu" and items["2023-01-02"]["name"] == "Tết Dương lịch (nghỉ bù)"
    assert items["2024-04-29"]["kind"] == "swapped_day_off"
    assert items["2024-05-04"] == {"date": "2024-05-04", "kind": "swapped_working_day",
                                   "name": "Làm bù cho ngày 29/04/2024"}
    assert items["2024-04-30"]["kind"] == items["2024-01-01"]["kind"] == "holiday"
    # the Saturday worked is a working day for every rule that asks (booking, slots), the day off is not
    assert service.is_working_day(date(2024, 5, 4)) and not service.is_working_day(date(2024, 4, 29))
    assert not service.is_working_day(date(2024, 5, 11))  # the next Saturday is an ordinary one
    assert service.is_working_time(at(date(2024, 5, 4), 8), at(date(2024, 5, 4), 9))
    # a swap that crosses the year: the Saturday is listed in its own year
    assert service.swapped_working_days(2026) == {date(2026, 8, 22): date(2026, 8, 31)}


def test_a_declaration_still_overrides_the_saturday_worked(app):
    service.declare_day({"date": "2024-05-04", "kind": "working_day", "name": "Làm bù theo tỉnh"})
    items = {item["date"]: item for item in service.year_items(2024)}
    assert items["2024-05-04"] == {"date": "2024-05-04", "kind": "working_day", "name": "Làm bù theo tỉnh"}


@pytest.mark.parametrize("english", [False, True])
def test_the_page_lists_each_kind_with_its_word(client, login_as, get_csrf, english):
    login_as("viewer")
    if english:
        switch_to_english(client, "/working-calendar?year=2024")
    html = client.get("/working-calendar?year=2024").get_data(as_text=True)
    kinds = {day: kind for kind, day in re.findall(
        r'data-kind="([a-z_]+)">\s*<td class="text-nowrap">[^<]*?(\d\d/\d\d/\d{4})', html)}
    assert kinds["29/04/2024"] == "swapped_day_off" and kinds["04/05/2024"] == "swapped_working_day"
    row = html[html.index("04/05/2024</td>"):]
    row = row[:row.index("</tr>")]
    if english:
        assert "Make-up working day" in row and "Worked in place of 29/04/2024" in row
        assert "Swapped day off" in html and "Day off in lieu" not in html  # 2024 has no holiday on a weekend
    else:
        assert "Làm bù" in row and "Làm bù cho ngày 29/04/2024" in row
        day_off = html[html.index("29/04/2024</td>"):]
        assert "Ngày nghỉ hoán đổi" in day_off[:day_off.index("</tr>")]
        assert "Ngày lễ, Tết" not in day_off[:day_off.index("</tr>")]
    html_2023 = client.get("/working-calendar?year=2023").get_data(as_text=True)
    in_lieu = html_2023[html_2023.index("02/01/2023</td>"):]
    assert ("Day off in lieu" if english else "Nghỉ bù") in in_lieu[:in_lieu.index("</tr>")]


def test_the_api_lists_the_new_kinds(client, api_headers):
    items = client.get("/api/v1/holidays?year=2024", headers=api_headers("viewer")).get_json()["items"]
    assert {"date": "2024-05-04", "kind": "swapped_working_day", "name": "Làm bù cho ngày 29/04/2024"} in items
