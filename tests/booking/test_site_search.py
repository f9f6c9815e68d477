"""The booking form at national scale: past a few hundred sites its pickers search the server, the page
carries only what is chosen (on the demo province, with the threshold lowered below its 213 sites)."""

import re

import pytest
from playwright.sync_api import expect

from tests.booking.conftest import next_monday
from tests.booking.test_calendar_review import PHONE, demo, sign_in  # noqa: F401 (fixtures)
from tests.booking.test_calendar_browser import DESKTOP
from tests.conftest import sideways_overflow
from tests.pickers import pick_site
from vmeeting.booking import forms
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db


@pytest.mark.parametrize("role", ["anonymous", "viewer", "technician", "scheduler", "admin"])
def test_the_search_checks_the_role(client, login_as, sites, role):
    if role != "anonymous":
        login_as(role)
    response = client.get("/meetings/sites?q=hoa binh", headers={"Accept": "application/json"})
    allowed = role in ("scheduler", "admin")
    assert response.status_code == (200 if allowed else 302 if role == "anonymous" else 403)
    if allowed:
        found = response.get_json()
        assert [site["text"] for site in found] == ["UBND xã Hòa Bình (Chi Lăng)"]
        assert set(found[0]) == {"id", "text", "code", "search"}


def test_the_search_answers_accent_blind_bounded_and_names_a_bad_field(client, login_as, sites):
    login_as("scheduler")
    assert client.get("/meetings/sites?q=").get_json() == []
    assert len(client.get("/meetings/sites?q=ubnd").get_json()) == 5
    assert client.get("/meetings/sites?q=UBND XA quang").get_json()[0]["text"].startswith("UBND xã Quang Lang")
    too_long = client.get("/meetings/sites", query_string={"q": "x" * 101})
    assert too_long.status_code == 400 and "q" in too_long.get_json()["error"]["fields"]


@pytest.mark.browser
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_pickers_search_the_server_past_the_threshold(page, demo, monkeypatch, size):  # noqa: F811
    monkeypatch.setattr(forms, "PICKER_INLINE_SITES", 100)  # the demo's 213 sites count as many
    monday = next_monday(8) + __import__("datetime").timedelta(weeks=1)
    page.set_viewport_size(size)
    sign_in(page, "scheduler")
    searches = []
    page.on("request", lambda request: searches.append(request.url) if "/meetings/sites?" in request.url else None)
    page.goto(f"/meetings/new?day={monday.date()}&start=14:00&end=15:00")
    # the page carries no site: 213 options would be 213 nodes per picker
    expect(page.locator("select#endpoint_ids option")).to_have_count(0)
    expect(page.locator("select#chair_endpoint_id option")).to_have_count(1)  # the empty choice
    page.get_by_label("Tên cuộc họp").fill("Họp tìm điểm cầu trên máy chủ")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh lang", "UBND tỉnh Lạng Sơn")
    pick_site(page, "Điểm cầu riêng lẻ", "quoc khanh", "UBND xã Quốc Khánh")
    assert searches
    assert sideways_overflow(page) == 0
    page.get_by_test_id("book").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    db.session.rollback()
    meeting = db.session.query(Meeting).filter_by(title="Họp tìm điểm cầu trên máy chủ").one()
    assert sorted(e.name for e in meeting.endpoints) == ["UBND tỉnh Lạng Sơn", "UBND xã Quốc Khánh"]


def test_a_districts_communes_come_as_json(client, login_as, sites, district, province):
    login_as("scheduler")
    day = next_monday(8).date()
    found = client.get(f"/meetings/units?parent_id={district.id}&day={day}").get_json()
    assert [unit["name"] for unit in found] == ["Xã Hòa Bình", "Xã Quang Lang", "Xã Mai Sao", "Xã Vân An"]
    assert found[0]["count"] == 1 and found[0]["search"] == "xa hoa binh"
    missing = client.get(f"/meetings/units?parent_id=999999&day={day}")
    assert missing.status_code == 404 and "parent_id" in missing.get_json()["error"]["fields"]
    for bad in ("", "abc", "-1"):
        refused = client.get(f"/meetings/units?parent_id={bad}")
        assert refused.status_code == 400 and "parent_id" in refused.get_json()["error"]["fields"]
    login_as("viewer")
    assert client.get(f"/meetings/units?parent_id={district.id}").status_code == 403


@pytest.mark.browser
def test_the_unit_tree_fetches_a_districts_communes_when_opened(page, demo, monkeypatch):  # noqa: F811
    monkeypatch.setattr(forms, "TREE_INLINE_UNITS", 10)  # the demo's communes count as the country's
    monday = next_monday(8) + __import__("datetime").timedelta(weeks=1)
    page.set_viewport_size(DESKTOP)
    sign_in(page, "scheduler")
    page.goto(f"/meetings/new?day={monday.date()}&start=14:00&end=15:00")
    tree = page.get_by_test_id("unit-tree")
    expect(tree.locator("[data-tree-item]")).to_have_count(0)  # no commune in the page until asked for
    tree.locator("summary").first.click()
    first = tree.locator("[data-tree-item] input").first
    first.wait_for()
    expect(tree.locator("[data-tree-item]").nth(10)).to_be_attached()
    first.check()
    page.get_by_label("Tên cuộc họp").fill("Họp một xã từ cây đơn vị")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh lang", "UBND tỉnh Lạng Sơn")
    page.get_by_test_id("book").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    db.session.rollback()
    meeting = db.session.query(Meeting).filter_by(title="Họp một xã từ cây đơn vị").one()
    assert meeting.endpoint_count >= 2  # the chair and the commune's sites
