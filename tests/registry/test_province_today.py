"""Lạng Sơn as it is today (issue 26): sites of a unit through the successions, pages as of a day."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from vmeeting.audit.models import AuditEvent
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.extensions import db
from vmeeting.registry import service, succession
from vmeeting.registry.models import AdminUnit, Endpoint

IN_2027 = date(2027, 1, 5)


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output


def unit(name, on_day=None):
    query = sa.select(AdminUnit).where(AdminUnit.name == name)
    if on_day is not None:
        query = query.where(succession.valid_on_clause(on_day))
    return db.session.scalars(query).one()


def former_units(endpoint):
    """The units a site was moved from, read from its history."""
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "endpoint", AuditEvent.entity_id == str(endpoint.id))).all()
    return {e.changes["unit_id"][0] for e in events if "unit_id" in e.changes}


def test_booking_a_new_unit_in_2027_names_the_halls_of_the_communes_it_absorbed(demo, client, api_headers):
    ky_lua = unit("Phường Kỳ Lừa")
    absorbed = {u.id for u in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.name.in_(
        ["Phường Hoàng Văn Thụ", "Thị trấn Cao Lộc", "Xã Hợp Thành", "Xã Tân Liên", "Xã Gia Cát"])))}
    cao_loc = unit("Huyện Cao Lộc")
    expected = {e.id for e in db.session.scalars(sa.select(Endpoint))
                if former_units(e) & (absorbed | {cao_loc.id})}
    assert len(expected) >= 5  # four commune halls and the district's hall (its seat went to Kỳ Lừa)
    choice = booking.resolve_sites(unit_ids=[ky_lua.id], on_day=IN_2027)
    assert {e.id for e in choice.endpoints} == expected
    # end to end: the API books them
    chair = choice.endpoints[0]
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json={
        "title": "Giao ban phường Kỳ Lừa", "starts_at": "2027-01-05T08:00:00+07:00",
        "ends_at": "2027-01-05T09:00:00+07:00", "chair_endpoint_id": chair.id, "unit_ids": [ky_lua.id]})
    assert response.status_code == 201, response.get_json()
    assert set(response.get_json()["endpoint_ids"]) == expected


def test_a_site_not_yet_moved_counts_under_the_unit_that_holds_its_hall(demo):
    ky_lua = unit("Phường Kỳ Lừa")
    site = db.session.scalar(sa.select(Endpoint).where(Endpoint.unit_id == ky_lua.id).limit(1))
    site.unit_id = unit("Xã Hợp Thành").id  # as a deployment that loaded the units but never moved its sites
    db.session.commit()
    assert site.id in {e.id for e in booking.resolve_sites(unit_ids=[ky_lua.id], on_day=IN_2027).endpoints}


def test_a_former_district_on_a_2027_day_stands_for_its_successors(demo, client, api_headers):
    cao_loc = unit("Huyện Cao Lộc")
    resolved = succession.resolve_on([cao_loc.id], IN_2027)[cao_loc.id]
    names = {u.name for u in resolved}
    assert "Phường Kỳ Lừa" in names and all(u.is_valid_on(IN_2027) for u in resolved)
    sites = booking.resolve_sites(unit_ids=[cao_loc.id], on_day=IN_2027).endpoints
    assert {e.unit_id for e in sites} <= {u.id for u in resolved} and len(sites) >= 20
    # the API's endpoint search by a former unit: today's sites of its successors, never silently empty
    found = client.get(f"/api/v1/endpoints?unit_id={cao_loc.id}&per_page=100", headers=api_headers("viewer")).get_json()
    assert found["total"] >= len(sites) > 0
    # on its own days the district is itself
    assert succession.resolve_on([cao_loc.id], date(2024, 5, 1))[cao_loc.id] == [cao_loc]


def _counts(html):
    return {level: int(n) for level, n in re.findall(r'data-testid="units-count-(\w+)" data-count="(\d+)"', html)}


def test_the_units_page_reads_as_of_today_and_as_of_another_day(demo, client, login_as):
    login_as("viewer")
    today = client.get("/units").get_data(as_text=True)
    assert _counts(today) == {"province": 1, "commune": 65}
    assert "Huyện Cao Lộc" not in today and "Phường Kỳ Lừa" in today
    then = client.get("/units?valid_on=2020-06-01").get_data(as_text=True)
    assert _counts(then) == {"province": 1, "district": 11, "commune": 200}
    assert "Huyện Cao Lộc" in then and "Phường Kỳ Lừa" not in then
    assert 'value="2020-06-01"' in then
    assert _counts(client.get("/units?valid_on=not-a-day").get_data(as_text=True)) == {"province": 1, "commune": 65}


def test_a_units_page_shows_its_predecessors_and_successors_with_links(demo, client, login_as):
    login_as("viewer")
    ky_lua, hop_thanh = unit("Phường Kỳ Lừa"), unit("Xã Hợp Thành")
    page = client.get(f"/units/{ky_lua.id}").get_data(as_text=True)
    predecessors = page.split('data-testid="unit-predecessors"', 1)[1].split("</table>", 1)[0]
    assert f'href="/units/{hop_thanh.id}"' in predecessors and "01/07/2025" in predecessors
    assert "1672/NQ-UBTVQH15" in predecessors and "toàn bộ" in predecessors
    old = client.get(f"/units/{hop_thanh.id}").get_data(as_text=True)
    assert f'href="/units/{ky_lua.id}"' in old.split('data-testid="unit-successors"', 1)[1]
    assert 'data-testid="unit-ended"' in old and "30/06/2025" in old
    district = client.get(f"/units/{unit('Huyện Cao Lộc').id}").get_data(as_text=True)
    ended = district.split('data-testid="unit-ended"', 1)[1].split("</div>", 1)[0]
    assert "Phường Kỳ Lừa" in ended  # a district with no successor of its own: what its communes became
    assert client.get("/units/99999999").status_code == 404


def test_the_endpoint_list_reads_as_of_another_day(demo, client, login_as):
    login_as("viewer")
    cao_loc = unit("Huyện Cao Lộc")
    then = client.get(f"/endpoints?unit_id={cao_loc.id}&valid_on=2020-06-01").get_data(as_text=True)
    total = int(re.search(r'data-testid="endpoint-total">(\d+)<', then).group(1))
    assert total == 23  # the district's hall and its 22 communes' halls, as they were
    assert "Thị trấn Cao Lộc" in then and "Phường Kỳ Lừa" not in then.split("<table", 1)[1]
    assert 'name="valid_on" value="2020-06-01"' in then
    today = client.get(f"/endpoints?unit_id={cao_loc.id}").get_data(as_text=True)
    assert 'data-testid="endpoints-resolved"' in today and "Phường Kỳ Lừa" in today
    assert int(re.search(r'data-testid="endpoint-total">(\d+)<', today).group(1)) >= total


def _calendar_units(client, day):
    html = client.get(f"/calendar?view=week&date={day}").get_data(as_text=True)
    select = html.split('data-testid="calendar-unit"', 1)[1].split("</select>", 1)[0]
    return [name.replace("— ", "") for name in re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", select)]


def test_the_calendars_unit_filter_offers_the_units_valid_on_the_date_shown(demo, client, login_as, api_headers):
    login_as("viewer")
    in_2027 = _calendar_units(client, "2027-01-05")
    assert len(in_2027) == 66 and in_2027[0] == "Tỉnh Lạng Sơn" and "Phường Kỳ Lừa" in in_2027
    assert not any(name.startswith(("Huyện", "Thành phố")) for name in in_2027)
    in_2024 = _calendar_units(client, "2024-05-06")
    assert len(in_2024) == 12 and "Huyện Cao Lộc" in in_2024 and "Phường Kỳ Lừa" not in in_2024


def test_the_calendar_narrowed_to_a_former_district_finds_its_sites_meetings_on_its_days(demo, client, api_headers,
                                                                                         login_as):
    """A 2024 week narrowed to Huyện Cao Lộc shows a meeting of a hall that was in it then (moved since)."""
    cao_loc = unit("Huyện Cao Lộc")
    site = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-183"))
    headers = api_headers("scheduler")
    response = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Giao ban huyện Cao Lộc 2024", "starts_at": "2027-05-07T08:00:00+07:00",
        "ends_at": "2027-05-07T09:00:00+07:00", "chair_endpoint_id": site.id, "endpoint_ids": [site.id]})
    assert response.status_code == 201, response.get_json()
    # a meeting held in 2024 (the booking rules refuse the past, so it is put there by hand)
    back = timedelta(days=(date(2027, 5, 7) - date(2024, 5, 7)).days)
    meeting = db.session.get(Meeting, response.get_json()["id"])
    for item in (meeting, *db.session.scalars(sa.select(Occurrence).where(Occurrence.meeting_id == meeting.id))):
        item.starts_at, item.ends_at = item.starts_at - back, item.ends_at - back
    db.session.commit()
    login_as("viewer")
    events = client.get(f"/calendar/events?start=2024-05-06&end=2024-05-13&unit_id={cao_loc.id}").get_json()
    assert [e["title"] for e in events if "Cao Lộc" in e.get("title", "")] == ["Giao ban huyện Cao Lộc 2024"]
    other = unit("Huyện Đình Lập")
    events = client.get(f"/calendar/events?start=2024-05-06&end=2024-05-13&unit_id={other.id}").get_json()
    assert not [e for e in events if "Cao Lộc" in e.get("title", "")]


def test_a_feed_of_a_former_unit_says_what_it_resolves_to_and_offers_the_update(demo, client, login_as, api_headers):
    from tests.conftest import csrf_token
    from vmeeting.invites import feeds
    from vmeeting.invites.models import CalendarFeed

    cao_loc, hop_thanh, ky_lua = unit("Huyện Cao Lộc"), unit("Xã Hợp Thành"), unit("Phường Kỳ Lừa")
    district_feed, token = feeds.create_feed("unit", cao_loc.id, None)
    commune_feed, _token = feeds.create_feed("unit", hop_thanh.id, None)
    db.session.commit()
    site = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-183"))  # the district's hall
    response = client.post("/api/v1/meetings", headers=api_headers("scheduler"), json={
        "title": "Giao ban Kỳ Lừa", "starts_at": "2027-01-05T08:00:00+07:00",
        "ends_at": "2027-01-05T09:00:00+07:00", "chair_endpoint_id": site.id, "endpoint_ids": [site.id]})
    assert response.status_code == 201
    assert "Giao ban Kỳ Lừa" in client.get(f"/calendar/{token}.ics").get_data(as_text=True)  # never silently empty

    login_as("scheduler")
    page = client.get("/calendar-feeds").get_data(as_text=True)
    notes = re.findall(r'data-testid="feed-former-unit">([^<]*)<', page)
    assert len(notes) == 2 and all("30/06/2025" in n for n in notes)
    assert any("Phường Kỳ Lừa" in n and "," in n for n in notes)  # the district: every commune it became
    assert page.count('data-testid="feed-follow"') == 1  # only Hợp Thành went whole into one unit
    follow = f"/calendar-feeds/{commune_feed.id}/follow"
    assert client.post(follow).status_code == 400  # no CSRF token
    answer = client.post(follow, data={"csrf_token": csrf_token(client, "/calendar-feeds")})
    assert answer.status_code == 302
    assert db.session.get(CalendarFeed, commune_feed.id).unit_id == ky_lua.id
    refused = client.post(f"/calendar-feeds/{district_feed.id}/follow",
                          data={"csrf_token": csrf_token(client, "/calendar-feeds")}, follow_redirects=True)
    assert "không thể chuyển" in refused.get_data(as_text=True)
    assert db.session.get(CalendarFeed, district_feed.id).unit_id == cao_loc.id
    login_as("technician")
    assert client.post(follow, data={"csrf_token": csrf_token(client, "/calendar-feeds")}).status_code == 403


def test_the_demos_schedulers_and_technicians_work_for_units_valid_today(demo):
    from vmeeting.auth.models import User

    today = date.today()
    staff = db.session.scalars(sa.select(User).where(User.role.in_(("scheduler", "technician")))).all()
    assert len(staff) >= 12 and all(u.home_unit is not None and u.home_unit.is_valid_on(today) for u in staff)
    by_name = {u.username: u.home_unit.name for u in staff}
    assert by_name["scheduler"] == "Tỉnh Lạng Sơn"
    assert by_name["technician"] == "Phường Lương Văn Tri"  # the city's hall
    assert by_name["kt-cao-loc"] == "Phường Kỳ Lừa"  # where Cao Lộc's hall (its seat, Thị trấn Cao Lộc) went
    assert all(u.home_unit_id is None for u in db.session.scalars(sa.select(User).where(User.role == "admin")))


def test_an_admin_sets_a_users_home_unit_among_todays_units(demo, client, login_as):
    from tests.conftest import csrf_token
    from vmeeting.auth.models import User

    login_as("admin")
    user = db.session.scalar(sa.select(User).where(User.username == "scheduler"))
    path = f"/users/{user.id}"
    page = client.get(path).get_data(as_text=True)
    select = page.split('id="home_unit_id"', 1)[1].split("</select>", 1)[0]
    assert "Phường Kỳ Lừa" in select and "Huyện Cao Lộc" not in select
    assert f'<option selected value="{user.home_unit_id}">' in select
    form = {"csrf_token": csrf_token(client, path), "role": "scheduler", "full_name": user.full_name,
            "agency": user.agency, "email": user.email, "is_enabled": "y"}
    ky_lua, cao_loc = unit("Phường Kỳ Lừa"), unit("Huyện Cao Lộc")
    assert client.post(path, data={**form, "home_unit_id": str(ky_lua.id)}).status_code == 302
    assert db.session.get(User, user.id).home_unit_id == ky_lua.id
    assert "Phường Kỳ Lừa" in client.get("/users").get_data(as_text=True)
    for bad in (str(cao_loc.id), "abc", "99999999999999999999"):
        refused = client.post(path, data={**form, "csrf_token": csrf_token(client, path), "home_unit_id": bad})
        assert "đang có hiệu lực hôm nay" in refused.get_data(as_text=True)  # the page again, the field marked
        assert db.session.get(User, user.id).home_unit_id == ky_lua.id
    assert client.post(path, data={**form, "csrf_token": csrf_token(client, path), "home_unit_id": ""}).status_code == 302
    assert db.session.get(User, user.id).home_unit_id is None


def test_the_export_carries_each_units_validity_and_reads_back_unchanged(demo):
    import io

    from vmeeting.registry import transfer

    rows = transfer.export_rows(service.search_endpoints())
    by_code = {r["code"]: r for r in rows}
    assert by_code["LS-183"]["unit_name"].startswith("Phường Kỳ Lừa")
    assert (by_code["LS-183"]["unit_valid_from"], by_code["LS-183"]["unit_valid_to"]) == ("2025-07-01", "")
    csv = transfer.write_csv(rows).decode("utf-8-sig")
    assert "Đơn vị có hiệu lực từ" in csv.splitlines()[0] and "2025-07-01" in csv
    again = transfer.check_rows(transfer.read_rows("diem-cau.csv", io.BytesIO(transfer.write_csv(rows))))
    assert again.is_valid and again.unchanged == 213, again.error_fields()


def test_an_import_naming_a_unit_ended_on_its_day_is_refused_with_its_successor_named(demo):
    from vmeeting.registry import transfer

    hop_thanh, ky_lua = unit("Xã Hợp Thành"), unit("Phường Kỳ Lừa")
    rows = [
        {"_row": 2, "code": "LS-NEW-1", "name": "Nhà văn hoá Hợp Thành", "unit_code": hop_thanh.code, "probe": "none"},
        {"_row": 3, "code": "LS-NEW-2", "name": "Nhà văn hoá Hợp Thành 2", "unit_id": str(hop_thanh.id), "probe": "none"},
        {"_row": 4, "code": "LS-NEW-3", "name": "Nhà văn hoá 3", "unit_name": "Huyện Cao Lộc", "probe": "none"},
        {"_row": 5, "code": "LS-NEW-4", "name": "Nhà văn hoá Kỳ Lừa", "unit_code": ky_lua.code, "probe": "none"},
    ]
    report = transfer.check_rows(rows)
    assert not report.is_valid
    errors = [r.errors for r in report.rows]
    reason = errors[0]["unit_code"]
    assert "Xã Hợp Thành" in reason and "đã kết thúc ngày 30/06/2025" in reason and "Phường Kỳ Lừa" in reason
    assert "Phường Kỳ Lừa" in errors[1]["unit_id"]
    assert "Huyện Cao Lộc" in errors[2]["unit_name"] and "Phường Kỳ Lừa" in errors[2]["unit_name"]
    assert errors[3] == {}
