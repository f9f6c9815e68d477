"""The roll-call: who may mark, absent needs a reason, the sitting's roll, the report against a hand count."""

from datetime import timedelta
from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from tests.booking.conftest import move_into_the_past
from tests.conftest import switch_to_english
from vmeeting.attendance import service
from vmeeting.attendance.models import Attendance
from vmeeting.core.database import utcnow
from vmeeting.core.extensions import db


def url(roll, endpoint=None):
    base = f"/api/v1/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    return f"{base}/{endpoint.id}" if endpoint is not None else base


def test_the_organizer_chair_technician_scheduler_and_admin_mark_others_do_not(roll, client, api_headers):
    for user in (roll.organizer, roll.chair_tech):
        response = client.put(url(roll, roll.communes[0]), headers=api_headers(user=user), json={"status": "present"})
        assert response.status_code == 200, response.get_json()
    for role in ("scheduler", "admin"):
        assert client.put(url(roll, roll.hall), headers=api_headers(role), json={"status": "late",
                                                                                  "reason": "Vào muộn 10 phút"}
                          ).status_code == 200
    assert client.put(url(roll, roll.communes[0]), headers=api_headers(user=roll.other_tech),
                      json={"status": "present"}).status_code == 403  # not the chair site's technician
    assert client.put(url(roll, roll.communes[0]), headers=api_headers("viewer"),
                      json={"status": "present"}).status_code == 403
    item = client.put(url(roll, roll.communes[1]), headers=api_headers(user=roll.organizer),
                      json={"status": "absent", "reason": "Mất kết nối"}).get_json()
    assert item["status"] == "absent" and item["reason"] == "Mất kết nối" and item["marked_by"] == roll.organizer.id


def test_absent_without_a_reason_and_bad_statuses_are_refused_and_nothing_is_stored(roll, client, api_headers):
    headers = api_headers("scheduler")
    response = client.put(url(roll, roll.communes[0]), headers=headers, json={"status": "absent", "reason": "  "})
    assert response.status_code == 400 and "reason" in response.get_json()["error"]["fields"]
    response = client.put(url(roll, roll.communes[0]), headers=headers, json={"status": "here"})
    assert response.status_code == 400 and "status" in response.get_json()["error"]["fields"]
    assert client.put(url(roll, roll.communes[0]), headers=headers, json={"status": "late", "reason": 5}
                      ).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


def test_a_site_not_in_the_sitting_and_a_sitting_of_another_meeting_are_not_found(roll, client, api_headers,
                                                                                  make_endpoint):
    headers = api_headers("scheduler")
    stranger = make_endpoint("Điểm cầu khác")
    assert client.put(url(roll, stranger), headers=headers, json={"status": "present"}).status_code == 404
    wrong = f"/api/v1/meetings/{roll.meeting.id + 1}/occurrences/{roll.occurrence.id}/attendance"
    assert client.get(wrong, headers=headers).status_code == 404


def test_a_roll_is_taken_during_or_after_the_sitting_not_before(roll, api_headers):
    early = roll.occurrence.starts_at - timedelta(minutes=roll.meeting.setup_minutes + 1)
    try:
        service.mark(roll.occurrence, roll.hall.id, roll.organizer, {"status": "present"}, now=early)
    except service.Conflict as exc:
        assert "Chưa đến giờ họp" in exc.message
    else:
        raise AssertionError("marked before the sitting")


def test_the_roll_shows_every_site_with_its_mark_and_the_summary(roll, client, api_headers):
    headers = api_headers("scheduler")
    client.put(url(roll, roll.communes[0]), headers=headers, json={"status": "present"})
    client.put(url(roll, roll.communes[1]), headers=headers, json={"status": "absent", "reason": "Thiết bị hỏng"})
    client.put(url(roll, roll.communes[1]), headers=headers, json={"status": "late", "reason": ""})  # corrected
    data = client.get(url(roll), headers=api_headers("viewer")).get_json()
    assert data["summary"] == {"present": 1, "late": 1, "absent": 0, "unmarked": 3}
    assert {i["endpoint_id"]: i["status"] for i in data["items"]} == {
        roll.hall.id: None, roll.communes[0].id: "present", roll.communes[1].id: "late",
        roll.communes[2].id: None, roll.communes[3].id: None}


def test_the_report_counts_per_district_and_site_against_a_hand_count(roll, client, api_headers, book, district):
    headers = api_headers("scheduler")
    client.put(url(roll, roll.hall), headers=headers, json={"status": "present"})
    client.put(url(roll, roll.communes[0]), headers=headers, json={"status": "late", "reason": "Vào muộn"})
    client.put(url(roll, roll.communes[1]), headers=headers, json={"status": "absent", "reason": "Mất điện"})
    move_into_the_past(roll.meeting, timedelta(hours=-3))
    # a second sitting, earlier, only for two communes: one present, one never marked
    second = book(roll.communes[:2], utcnow() + timedelta(minutes=15), actor=roll.organizer,
                  allow_non_working_time=True)
    service.mark(second.occurrences[0], roll.communes[0].id, roll.organizer, {"status": "present"})
    db.session.commit()
    move_into_the_past(second, timedelta(hours=-5))
    data = client.get("/api/v1/reports/attendance", headers=headers).get_json()
    by_site = {r["endpoint_id"]: (r["booked"], r["present"], r["late"], r["absent"], r["unmarked"])
               for r in data["endpoints"]}
    assert by_site == {roll.hall.id: (1, 1, 0, 0, 0), roll.communes[0].id: (2, 1, 1, 0, 0),
                       roll.communes[1].id: (2, 0, 0, 1, 1), roll.communes[2].id: (1, 0, 0, 0, 1),
                       roll.communes[3].id: (1, 0, 0, 0, 1)}
    by_district = {d["district"]: (d["booked"], d["present"], d["late"], d["absent"], d["unmarked"])
                   for d in data["districts"]}
    assert by_district == {"Tỉnh Lạng Sơn": (1, 1, 0, 0, 0), "Huyện Chi Lăng": (6, 1, 1, 1, 3)}
    assert data["total"] == {"booked": 7, "present": 2, "late": 1, "absent": 1, "unmarked": 3}
    narrowed = client.get(f"/api/v1/reports/attendance?unit_id={district.id}", headers=headers).get_json()
    assert narrowed["total"]["booked"] == 6
    today = utcnow().date()
    old = client.get(f"/api/v1/reports/attendance?from={today - timedelta(days=60)}&to={today - timedelta(days=30)}",
                     headers=headers).get_json()
    assert old["total"]["booked"] == 0
    assert client.get("/api/v1/reports/attendance?from=yesterday", headers=headers).status_code == 400
    assert client.get("/api/v1/reports/attendance?from=2026-05-01&to=2026-04-01", headers=headers).status_code == 400


def test_the_report_page_and_its_excel_file_carry_the_same_figures(roll, client, api_headers, login_as):
    headers = api_headers("scheduler")
    client.put(url(roll, roll.communes[1]), headers=headers, json={"status": "absent", "reason": "Mất điện"})
    move_into_the_past(roll.meeting, timedelta(hours=-3))
    login_as("viewer")
    page = client.get("/reports/attendance").get_data(as_text=True)
    assert 'data-testid="by-district"' in page and "Huyện Chi Lăng" in page
    response = client.get("/reports/attendance.xlsx")
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.data))
    rows = list(book["Theo huyện"].iter_rows(values_only=True))
    assert ("Huyện Chi Lăng", 4, 0, 0, 1, 3) in rows and ("Tổng", 5, 0, 0, 1, 4) in rows
    sites = list(book["Theo điểm cầu"].iter_rows(values_only=True))
    assert any(r[1] == roll.communes[1].name and r[3:] == (1, 0, 0, 1, 0) for r in sites)
    assert client.get("/reports/attendance?from=nope").status_code == 400
    assert client.get("/reports/attendance.xlsx?from=nope").status_code == 400


def test_the_roll_call_page_marks_a_site_and_refuses_absent_without_reason(roll, client, login, get_csrf):
    login(roll.chair_tech)
    page_url = f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    page = client.get(page_url).get_data(as_text=True)
    assert page.count('data-testid="mark-form"') == 5
    token = get_csrf(page_url)
    post = f"{page_url}/{roll.communes[0].id}"
    prefix = f"e{roll.communes[0].id}-"
    refused = client.post(post, data={"csrf_token": token, prefix + "status": "absent", prefix + "reason": ""})
    assert refused.status_code == 400 and "Vắng mặt cần ghi lý do" in refused.get_data(as_text=True)
    done = client.post(post, data={"csrf_token": token, prefix + "status": "absent",
                                   prefix + "reason": "Không có người dự"})
    assert done.status_code == 302
    row = db.session.scalar(sa.select(Attendance))
    assert (row.endpoint_id, row.status, row.reason, row.marked_by_id) == (
        roll.communes[0].id, "absent", "Không có người dự", roll.chair_tech.id)


def test_another_technician_sees_the_roll_without_forms_and_cannot_post(roll, client, login, get_csrf):
    login(roll.other_tech)
    page_url = f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    assert 'data-testid="mark-form"' not in client.get(page_url).get_data(as_text=True)
    prefix = f"e{roll.communes[0].id}-"
    response = client.post(f"{page_url}/{roll.communes[0].id}",
                           data={"csrf_token": get_csrf("/network"), prefix + "status": "present"})
    assert response.status_code == 403


def test_the_roll_call_page_is_prefilled_from_readiness_and_the_last_sweep(roll, client, login):
    from vmeeting.network.models import NetworkState
    from vmeeting.readiness.models import Readiness

    now = utcnow()
    db.session.add_all([
        Readiness(occurrence_id=roll.occurrence.id, endpoint_id=roll.communes[0].id, status="ready",
                  confirmed_at=now - timedelta(minutes=5)),
        Readiness(occurrence_id=roll.occurrence.id, endpoint_id=roll.communes[1].id, status="pending",
                  is_reachable=False, checked_at=now - timedelta(minutes=10)),
        # the sweep after the probe round found it back: the later word wins
        NetworkState(endpoint_id=roll.communes[1].id, state="up", since=now, last_checked_at=now - timedelta(minutes=1)),
        NetworkState(endpoint_id=roll.communes[2].id, state="down", since=now, last_checked_at=now - timedelta(minutes=2)),
        NetworkState(endpoint_id=roll.communes[3].id, state="down", since=now,
                     last_checked_at=now - timedelta(days=1)),  # before the sitting: no hint
    ])
    db.session.commit()
    login(roll.organizer)
    page = client.get(f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance").get_data(as_text=True)

    def checked(endpoint):
        import re
        card = page.split(f'id="site-{endpoint.id}"', 1)[1].split('class="col"', 1)[0]
        found = re.search(r'value="(present|late|absent)" autocomplete="off" checked', card)
        return found.group(1) if found else None

    assert [checked(e) for e in (roll.hall, *roll.communes)] == [None, "present", "present", "absent", None]
    assert page.count('data-testid="suggested"') == 3
    assert 'value="Mất kết nối"' in page


def test_marks_and_usual_reasons_show_in_english_and_are_kept_in_vietnamese(roll, client, login, get_csrf):
    """In English mode the roll-call shows its marks and usual reasons in English; a usual reason picked
    there is kept in Vietnamese, as the Vietnamese page (and the API) wrote it; one's own words as written."""
    login(roll.organizer)
    assert client.post("/lang/en", data={"csrf_token": get_csrf("/network")}).status_code == 302
    page_url = f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    page = client.get(page_url).get_data(as_text=True)
    assert '<option value="Equipment failure">' in page and "Thiết bị hỏng" not in page
    assert ">Not marked</span>" in page and "Chưa điểm danh" not in page
    token = get_csrf(page_url)
    for endpoint, status, reason in ((roll.communes[0], "absent", "equipment failure"),
                                     (roll.communes[1], "absent", "Bão lũ chia cắt")):
        prefix = f"e{endpoint.id}-"
        response = client.post(f"{page_url}/{endpoint.id}", data={"csrf_token": token, prefix + "status": status,
                                                                   prefix + "reason": reason})
        assert response.status_code == 302
    kept = dict(db.session.execute(sa.select(Attendance.endpoint_id, Attendance.reason)).all())
    assert kept == {roll.communes[0].id: "Thiết bị hỏng", roll.communes[1].id: "Bão lũ chia cắt"}
    page = client.get(page_url).get_data(as_text=True)
    assert ">Absent</span>" in page and "Equipment failure ·" in page and "Bão lũ chia cắt ·" in page
    assert 'value="Equipment failure"' in page.split(f'id="site-{roll.communes[0].id}"', 1)[1]


def test_a_refused_mark_reads_in_the_page_language_and_in_vietnamese_in_the_api(roll, client, login, get_csrf,
                                                                               api_headers):
    """The service's refusals (absent without a reason, a sitting not begun) in English on the English roll."""
    login(roll.organizer)
    switch_to_english(client, "/reports/attendance")
    page_url = f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    prefix = f"e{roll.communes[0].id}-"
    absent = {"csrf_token": get_csrf(page_url), prefix + "status": "absent", prefix + "reason": ""}
    refused = client.post(f"{page_url}/{roll.communes[0].id}", data=absent)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Absent needs a reason (for example: connection lost, nobody attended, equipment broken)." in html
    assert "Vắng mặt cần ghi lý do" not in html
    api = client.put(url(roll, roll.communes[0]), headers=api_headers(user=roll.organizer),
                     json={"status": "absent", "reason": ""})
    assert api.get_json()["error"]["fields"]["reason"] == (
        "Vắng mặt cần ghi lý do (ví dụ: mất kết nối, không có người dự, thiết bị hỏng).")
    report = client.get("/reports/attendance?from=nope").get_data(as_text=True)
    assert "Use a date as YYYY-MM-DD or an ISO 8601 instant with a time zone." in report
    move_into_the_past(roll.meeting, timedelta(days=1))  # into the future: its roll is not open yet
    early = client.post(f"{page_url}/{roll.communes[0].id}", data={**absent, prefix + "reason": "Mất điện"})
    html = early.get_data(as_text=True)
    assert early.status_code == 409
    assert "The sitting has not begun yet: take the roll during or after the sitting." in html
    assert "Chưa đến giờ họp" not in html
    api = client.put(url(roll, roll.communes[0]), headers=api_headers(user=roll.organizer),
                     json={"status": "present"})
    assert api.status_code == 409
    assert api.get_json()["error"]["message"] == "Chưa đến giờ họp: điểm danh trong hoặc sau buổi họp."
    client.post("/lang/vi", data={"csrf_token": absent["csrf_token"]})
    html = client.post(f"{page_url}/{roll.communes[0].id}", data={**absent, prefix + "reason": "Mất điện"}
                       ).get_data(as_text=True)
    assert "Chưa đến giờ họp: điểm danh trong hoặc sau buổi họp." in html


def test_a_large_roll_call_lists_its_districts_and_fetches_each_when_opened(roll, client, login, monkeypatch):
    """Past FETCHED_SITES sites the page holds the districts and their counts, not the sites: a district's
    sites come from their own route (or, without JavaScript, from ?district=<id> in the page)."""
    from vmeeting.attendance import views

    monkeypatch.setattr(views, "FETCHED_SITES", 2)
    login(roll.organizer)
    page_url = f"/meetings/{roll.meeting.id}/occurrences/{roll.occurrence.id}/attendance"
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-testid="site"' not in page and page.count('data-testid="district"') == 2
    assert page.count("data-fragment-src=") == 2
    district = roll.communes[0].unit.parent
    fragment = client.get(f"{page_url}/districts/{district.id}").get_data(as_text=True)
    assert fragment.count('data-testid="site"') == 4 and 'data-testid="mark-form"' in fragment
    assert client.get(f"{page_url}/districts/999999").status_code == 404
    inline = client.get(f"{page_url}?district={district.id}").get_data(as_text=True)
    assert inline.count('data-testid="site"') == 4
