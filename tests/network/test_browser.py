"""On a phone a technician opens an incident; on a desktop the scheduler is warned of it while booking."""

import re

import pytest
from playwright.sync_api import expect

from tests.booking.conftest import next_monday
from tests.conftest import box_of, browser_sign_in, sideways_overflow
from tests.pickers import pick_site

pytestmark = pytest.mark.browser


@pytest.mark.long
def test_an_incident_from_the_phone_warns_the_scheduler_booking_the_site(page, phone_page, net, district,
                                                                          make_user):
    site = net.communes[0]
    site_id = site.id
    scheduler = make_user("scheduler", username="vanphong")
    site_label = f"{site.name} ({site.code})"
    browser_sign_in(phone_page, net.tech_a.username)
    phone_page.get_by_role("button", name="Menu").click()
    phone_page.get_by_role("link", name="Sự cố").click()
    phone_page.get_by_test_id("new-incident").tap()
    phone_page.get_by_label("Điểm cầu").select_option(label=site_label)
    phone_page.get_by_label("Sự cố").fill("Mất hình từ camera chính")
    phone_page.get_by_label("Mức độ").select_option("critical")
    phone_page.get_by_role("button", name="Mở sự cố").tap()
    expect(phone_page.get_by_role("alert")).to_contain_text("Đã mở sự cố «Mất hình từ camera chính»")
    expect(phone_page.get_by_test_id("incident-status")).to_have_text("Đang mở")
    assert sideways_overflow(phone_page) == 0

    browser_sign_in(page, scheduler.username)
    start = next_monday(8)
    page.goto("/meetings/new")
    page.get_by_label("Tên cuộc họp").fill("Giao ban huyện Chi Lăng")
    page.get_by_label("Ngày họp").fill(start.strftime("%d/%m/%Y"))
    page.get_by_label("Bắt đầu").fill("08:00")
    page.get_by_label("Kết thúc").fill("09:00")
    pick_site(page, "Điểm cầu chủ tọa", "ubnd tinh", net.hall.name)
    page.get_by_label(f"Toàn {district.name}").check()
    page.get_by_test_id("book").click()
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    warning = page.locator(".alert-warning")
    expect(warning).to_contain_text(f"{site_label.rsplit(' (', 1)[0]}: đang có sự cố (nghiêm trọng): Mất hình từ camera chính")

    page.goto("/network")
    cell = page.locator(f'[data-testid=cell][data-endpoint-id="{site_id}"]')
    expect(cell).to_have_class(re.compile(r"net-incident"))
    box = box_of(page.locator(".net-board"))
    assert box["height"] < 900  # the province fits one screen


def test_a_sites_page_draws_its_daily_availability_with_the_served_chart_library(page, net, make_user):
    from datetime import timedelta

    from vmeeting.core.database import utcnow
    from vmeeting.core.extensions import db
    from vmeeting.network.models import NetworkEvent

    site_id = net.communes[0].id
    now = utcnow()
    db.session.add_all([
        NetworkEvent(endpoint_id=site_id, previous="unknown", state="up", occurred_at=now - timedelta(days=40)),
        NetworkEvent(endpoint_id=site_id, previous="up", state="down", occurred_at=now - timedelta(days=3, hours=12)),
        NetworkEvent(endpoint_id=site_id, previous="down", state="up", occurred_at=now - timedelta(days=3)),
    ])
    db.session.commit()
    viewer = make_user("viewer")
    browser_sign_in(page, viewer.username)
    page.goto(f"/network/endpoints/{site_id}")
    chart = page.get_by_test_id("availability-chart")
    expect(chart).to_be_visible()
    values = page.evaluate("document.querySelector('[data-testid=availability-chart]').chart.data.datasets[0].data")
    assert len(values) == 30 and values[-1] == 100 and min(v for v in values if v is not None) < 100


def test_the_board_repaints_itself_in_place_without_a_meta_refresh(page, net, live_server, make_user):
    """The board polls its JSON (no meta refresh, WCAG 2.2.1): a site going down turns red, the counts follow,
    and the reader stays where they were."""
    from vmeeting.core.database import utcnow, writing
    from vmeeting.core.extensions import db
    from vmeeting.network.models import NetworkState

    db.session.add(NetworkState(endpoint_id=net.communes[0].id, state="up", since=utcnow(), failures=0))
    db.session.commit()
    live_server.server.app.config["NETWORK_BOARD_REFRESH_SECONDS"] = 2
    make_user("viewer", username="xem")
    browser_sign_in(page, "xem")
    page.goto("/network")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)
    cell = page.locator(f'[data-testid=cell][data-endpoint-id="{net.communes[0].id}"]')
    expect(cell).to_have_attribute("data-state", "up")
    page.evaluate("window.__notReloaded = true")
    db.session.rollback()
    with writing():
        db.session.get(NetworkState, net.communes[0].id).state = "down"
        db.session.commit()
    expect(cell).to_have_attribute("data-state", "down", timeout=15000)
    expect(cell).to_have_class(re.compile(r"\bnet-down\b"))
    expect(page.get_by_test_id("network-summary").locator('[data-count="down"]')).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True
