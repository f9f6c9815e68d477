"""Network pages: the board by district, a site's state, incidents opened and resolved from a phone-sized form."""

import re

import sqlalchemy as sa

from tests.booking.conftest import next_working_day
from tests.network.conftest import point
from tests.conftest import switch_to_english
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.network import service
from vmeeting.network.models import Incident, NetworkState


def html(response):
    return response.get_data(as_text=True)


def test_the_board_shows_every_active_site_by_district_coloured_by_state(net, client, login_as, live_peers):
    point(net.communes[0], live_peers[0].uri)
    service.sweep()
    db.session.add(NetworkState(endpoint_id=net.communes[1].id, state="down", since=utcnow(), failures=3))
    db.session.commit()
    login_as("viewer")
    page = html(client.get("/network"))
    cells = dict(re.findall(r'data-endpoint-id="(\d+)" data-state="(\w+)"', page))
    assert cells == {str(net.hall.id): "unknown", str(net.communes[0].id): "up", str(net.communes[1].id): "down",
                     str(net.communes[2].id): "unknown", str(net.communes[3].id): "unknown"}
    assert "Huyện Chi Lăng" in page and "Tỉnh Lạng Sơn" in page
    assert page.index("Tỉnh Lạng Sơn") < page.index("Huyện Chi Lăng")  # the province's own sites first


def test_a_site_page_and_the_registry_page_show_its_state(net, client, login_as, live_peers):
    point(net.communes[0], live_peers[0].uri)
    service.sweep()
    login_as("viewer")
    page = html(client.get(f"/network/endpoints/{net.communes[0].id}"))
    assert 'data-testid="network-state" data-state="up"' in page
    assert 'data-testid="availability-7"' in page
    assert "Báo sự cố" not in page  # a viewer opens no incidents
    registry_page = html(client.get(f"/endpoints/{net.communes[0].id}"))
    assert 'data-testid="network-panel"' in registry_page and 'data-state="up"' in registry_page
    assert client.get("/network/endpoints/999999").status_code == 404


def test_pages_need_a_sign_in(net, client):
    for path in ("/network", "/incidents", "/incidents/new", f"/network/endpoints/{net.hall.id}"):
        assert client.get(path).status_code == 302


def test_a_technician_opens_an_incident_on_own_sites_only_and_resolves_it(net, client, login, get_csrf):
    login(net.tech_a)
    form = html(client.get("/incidents/new"))
    assert net.communes[0].name in form and net.communes[2].name not in form
    token = get_csrf("/incidents/new")
    refused = client.post("/incidents/new", data={"csrf_token": token, "endpoint_id": net.communes[2].id,
                                                  "title": "Mất hình", "severity": "major"})
    assert refused.status_code == 400
    empty = client.post("/incidents/new", data={"csrf_token": token, "endpoint_id": net.communes[0].id,
                                                "title": "", "severity": "major"})
    assert empty.status_code == 400 and "Nhập tiêu đề sự cố." in html(empty)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    response = client.post("/incidents/new", data={"csrf_token": token, "endpoint_id": net.communes[0].id,
                                                   "title": "Mất hình", "severity": "critical", "note": "Từ 8h"})
    assert response.status_code == 302
    incident = db.session.scalar(sa.select(Incident))
    assert (incident.endpoint_id, incident.severity, incident.opened_by_id) == (net.communes[0].id, "critical",
                                                                                net.tech_a.id)
    page = f"/incidents/{incident.id}"
    assert "Mất hình" in html(client.get("/incidents"))
    blank = client.post(page, data={"csrf_token": get_csrf(page), "resolution": ""})
    assert blank.status_code == 400
    done = client.post(page, data={"csrf_token": get_csrf(page), "resolution": "Khởi động lại codec"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "resolved"
    assert "Khởi động lại codec" in html(client.get(page))


def test_another_technician_cannot_resolve_and_a_viewer_cannot_open(net, client, login, login_as, get_csrf):
    incident = Incident(endpoint_id=net.communes[0].id, title="Mất hình", severity="minor", source="manual")
    db.session.add(incident)
    db.session.commit()
    login(net.tech_b)
    page = f"/incidents/{incident.id}"
    assert 'data-testid="resolve-form"' not in html(client.get(page))
    assert client.post(page, data={"csrf_token": get_csrf("/incidents/new"), "resolution": "x"}).status_code == 403
    client.post("/logout", data={"csrf_token": get_csrf("/incidents")})
    login_as("viewer")
    assert client.get("/incidents/new").status_code == 403


def test_the_booking_page_warns_of_a_site_down(net, client, login_as, get_csrf):
    db.session.add(NetworkState(endpoint_id=net.communes[0].id, state="down", since=utcnow(), failures=2))
    db.session.commit()
    from vmeeting.booking import service as booking
    warnings = booking.site_warnings([net.communes[0].id, net.communes[1].id])
    assert [w["kind"] for w in warnings] == ["down"]
    login_as("scheduler")
    starts = next_working_day(9)
    token = get_csrf("/meetings/new")
    form = html(client.get("/meetings/new"))
    assert "endpoint_ids" in form
    response = client.post("/meetings/new", data={
        "csrf_token": token, "title": "Giao ban", "day": starts.strftime("%d/%m/%Y"), "start_time": "09:00",
        "end_time": "10:00", "setup_minutes": "30", "chair_endpoint_id": net.hall.id,
        "endpoint_ids": [net.hall.id, net.communes[0].id]}, follow_redirects=True)
    page = html(response)
    assert response.status_code == 200, page[:2000]
    assert "mất kết nối từ" in page


def test_the_incident_report_counts_per_district_and_the_time_to_resolve(net, client, login_as):
    from datetime import timedelta
    now = utcnow()
    db.session.add_all([
        Incident(endpoint_id=net.communes[0].id, title="a", severity="minor", source="manual", status="resolved",
                 opened_at=now - timedelta(hours=10), resolved_at=now - timedelta(hours=8)),
        Incident(endpoint_id=net.communes[1].id, title="b", severity="major", source="network", status="resolved",
                 opened_at=now - timedelta(hours=10), resolved_at=now - timedelta(hours=4)),
        Incident(endpoint_id=net.communes[2].id, title="c", severity="major", source="manual", status="open",
                 opened_at=now - timedelta(hours=1)),
        Incident(endpoint_id=net.hall.id, title="d", severity="critical", source="manual", status="open",
                 opened_at=now - timedelta(days=90)),  # before the period
    ])
    db.session.commit()
    rows = service.incident_report(now - timedelta(days=30), now + timedelta(minutes=1))
    assert [(r["district"], r["opened"], r["resolved"], r["open"], r["median_hours"], r["mean_hours"]) for r in rows] \
        == [("Huyện Chi Lăng", 3, 2, 1, 4.0, 4.0)]
    login_as("viewer")
    page = html(client.get("/incidents/report"))
    assert 'data-testid="incident-report"' in page and "Huyện Chi Lăng" in page
    assert client.get("/incidents/report?from=hôm-qua").status_code == 400


def test_a_booking_of_many_sites_down_lists_a_few_warnings_and_counts_the_rest(net, client, login_as, get_csrf):
    for site in [net.hall, *net.communes]:
        db.session.add(NetworkState(endpoint_id=site.id, state="down", since=utcnow(), failures=2))
    db.session.add(Incident(endpoint_id=net.hall.id, title="Mất điện", severity="major", source="manual"))
    db.session.commit()
    login_as("scheduler")
    starts = next_working_day(10)
    response = client.post("/meetings/new", data={
        "csrf_token": get_csrf("/meetings/new"), "title": "Giao ban", "day": starts.strftime("%d/%m/%Y"),
        "start_time": "10:00", "end_time": "11:00", "setup_minutes": "30", "chair_endpoint_id": net.hall.id,
        "endpoint_ids": [net.hall.id, *[c.id for c in net.communes]]}, follow_redirects=True)
    page = html(response)
    assert page.count("mất kết nối từ") == 4 and page.count("đang có sự cố") == 1  # by site: the hall first
    assert "… và 1 cảnh báo khác" in page


def test_in_english_a_booking_counts_its_sites_and_warnings_in_the_singular_when_one(net, client, login_as,
                                                                                     get_csrf):
    for site in [net.hall, *net.communes]:
        db.session.add(NetworkState(endpoint_id=site.id, state="down", since=utcnow(), failures=2))
    db.session.add(Incident(endpoint_id=net.hall.id, title="Mất điện", severity="major", source="manual"))
    db.session.commit()
    login_as("scheduler")
    switch_to_english(client, "/network")
    starts = next_working_day(10)
    form = {"csrf_token": get_csrf("/meetings/new"), "day": starts.strftime("%d/%m/%Y"), "start_time": "10:00",
            "end_time": "11:00", "setup_minutes": "30", "chair_endpoint_id": net.hall.id}
    page = html(client.post("/meetings/new", data={**form, "title": "Giao ban", "endpoint_ids": [
        net.hall.id, *[c.id for c in net.communes]]}, follow_redirects=True))
    assert f"for {1 + len(net.communes)} sites." in page and "… and 1 more warning about the sites" in page
    page = html(client.post("/meetings/new", data={**form, "title": "Một điểm", "chair_endpoint_id": net.communes[0].id,
                                                   "start_time": "14:00", "end_time": "15:00",
                                                   "endpoint_ids": [net.communes[0].id]}, follow_redirects=True))
    assert "Booked «Một điểm» for 1 site." in page


def test_warnings_that_read_alike_are_shown_and_counted_once(net, client, login_as, get_csrf):
    """Two open incidents of one site with the same title and severity make one line, not one line and a count."""
    for _ in range(2):
        db.session.add(Incident(endpoint_id=net.hall.id, title="Mất điện", severity="major", source="manual"))
    for site in net.communes:
        db.session.add(NetworkState(endpoint_id=site.id, state="down", since=utcnow(), failures=2))
    db.session.commit()
    login_as("scheduler")
    starts = next_working_day(10)
    page = html(client.post("/meetings/new", data={
        "csrf_token": get_csrf("/meetings/new"), "title": "Giao ban", "day": starts.strftime("%d/%m/%Y"),
        "start_time": "10:00", "end_time": "11:00", "setup_minutes": "30", "chair_endpoint_id": net.hall.id,
        "endpoint_ids": [net.hall.id, *[c.id for c in net.communes]]}, follow_redirects=True))
    assert page.count("đang có sự cố") == 1 and page.count("mất kết nối từ") == len(net.communes)
    assert "cảnh báo khác" not in page


def test_in_english_the_sign_in_request_is_english(client, get_csrf):
    client.post("/lang/en", data={"csrf_token": get_csrf("/login")})
    page = html(client.get("/meetings", follow_redirects=True))
    assert "Please sign in to continue." in page and "Vui lòng đăng nhập" not in page


def test_states_severities_and_sources_show_in_english_in_english_mode(net, client, login_as, get_csrf):
    """The service keeps its words in Vietnamese (mail is Vietnamese); the pages show them through the catalogue."""
    now = utcnow()
    db.session.add_all([NetworkState(endpoint_id=net.communes[0].id, state="up", since=now, failures=0),
                        NetworkState(endpoint_id=net.communes[1].id, state="down", since=now, failures=2)])
    incident = Incident(endpoint_id=net.communes[1].id, title="Mất kết nối mạng", severity="critical",
                        source="network")
    db.session.add(incident)
    db.session.commit()
    login_as("scheduler")
    switch_to_english(client, "/network")
    board = html(client.get("/network"))
    assert f"{net.communes[0].name}: Active" in board and f"{net.communes[1].name}: Unreachable" in board
    assert "Hoạt động" not in board and "Chưa rõ" not in board
    site = html(client.get(f"/network/endpoints/{net.communes[1].id}"))
    assert 'data-state="down">Unreachable</span>' in site
    listing = html(client.get("/incidents"))
    assert ">Critical</span>" in listing and "Network monitoring" in listing
    shown = html(client.get(f"/incidents/{incident.id}"))
    assert "Critical" in shown and "Network monitoring" in shown and "Giám sát mạng" not in shown
    client.post("/lang/vi", data={"csrf_token": get_csrf("/network")})
    assert "Giám sát mạng" in html(client.get(f"/incidents/{incident.id}"))


def test_the_country_board_counts_by_province_and_each_province_draws_its_cells(net, client, login_as,
                                                                                monkeypatch):
    """Past BOARD_CELLS sites the board would draw 10,000 cells: it lists each province's counts instead."""
    db.session.add(NetworkState(endpoint_id=net.communes[1].id, state="down", since=utcnow(), failures=3))
    db.session.add(NetworkState(endpoint_id=net.communes[2].id, state="up", since=utcnow(), failures=0))
    db.session.commit()
    monkeypatch.setattr(service, "BOARD_CELLS", 2)
    login_as("viewer")
    page = html(client.get("/network"))
    assert 'data-testid="cell"' not in page
    province = net.hall.unit
    rows = re.findall(r'data-testid="network-province">\s*<td><a href="([^"]+)">([^<]+)</a></td>(.*?)</tr>', page, re.S)
    assert [(href, name) for href, name, _cells in rows] == [(f"/network?unit_id={province.id}", "Tỉnh Lạng Sơn")]
    assert re.findall(r">(\d+)<", rows[0][2]) == ["1", "1", "3", "5"]  # up, down, unknown, all five sites
    assert re.search(r'data-count="down">1<', page)
    one = html(client.get(f"/network?unit_id={province.id}"))
    assert len(re.findall(r'data-testid="cell"', one)) == 5 and 'data-testid="network-all"' in one
    district = net.communes[0].unit.parent
    assert len(re.findall(r'data-testid="cell"', html(client.get(f"/network?unit_id={district.id}")))) == 4
    for hostile in ("abc", "-1", "99999999999999999999999", "0"):  # read as no unit: the country's counts
        assert client.get(f"/network?unit_id={hostile}").status_code == 200


def test_an_incident_refused_by_the_service_reads_in_the_page_language(net, client, login, get_csrf, api_headers):
    """The service's refusals (no site chosen, already resolved) in English on the English forms; the API and
    the Vietnamese pages keep the Vietnamese."""
    login(net.tech_a)
    switch_to_english(client, "/network")
    form = {"csrf_token": get_csrf("/incidents/new"), "endpoint_id": 0, "title": "Mất hình", "severity": "major"}
    refused = client.post("/incidents/new", data=form)
    page = html(refused)
    assert refused.status_code == 400 and "Choose a site." in page and "Chọn một điểm cầu." not in page
    headers = api_headers(user=net.tech_a)
    api = client.post("/api/v1/incidents", headers=headers, json={"endpoint_id": 0, "title": "Mất hình"})
    assert api.status_code == 400 and api.get_json()["error"]["fields"]["endpoint_id"] == "Chọn một điểm cầu."
    incident = service.open_incident(net.tech_a, {"endpoint_id": net.communes[0].id, "title": "Mất hình"})
    service.resolve_incident(incident, net.tech_a, "Khởi động lại codec")
    db.session.commit()
    path = f"/incidents/{incident.id}"
    again = client.post(path, data={"csrf_token": get_csrf("/incidents/new"), "resolution": "Thay cáp"})
    page = html(again)
    assert again.status_code == 400 and "The incident is already resolved." in page
    assert "Sự cố đã được xử lý xong." not in page
    api = client.post(f"/api/v1{path}/resolve", headers=headers, json={"resolution": "Thay cáp"})
    assert api.status_code == 409 and api.get_json()["error"]["message"] == "Sự cố đã được xử lý xong."
    client.post("/lang/vi", data={"csrf_token": form["csrf_token"]})
    assert "Chọn một điểm cầu." in html(client.post("/incidents/new", data=form))
