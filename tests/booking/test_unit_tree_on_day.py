"""The booking form's unit tree is the one valid on the meeting's day (DOMAIN.md "Units change")."""

from datetime import date

import pytest

from vmeeting.booking.sites import unit_options


@pytest.fixture
def demo(demo_province):
    return demo_province


def _names(groups):
    return [(head.name, [unit.name for unit, _n in communes]) for (head, _n), communes in groups]


def test_a_2027_meeting_is_offered_the_65_units_under_the_province(demo):
    groups = _names(unit_options(date(2027, 1, 5)))
    assert len(groups) == 1 and groups[0][0] == "Tỉnh Lạng Sơn"
    assert len(groups[0][1]) == 65 and "Phường Kỳ Lừa" in groups[0][1]


def test_a_2024_meeting_is_offered_the_2020_tree(demo):
    groups = _names(unit_options(date(2024, 6, 1)))
    assert [head for head, _c in groups][1:] == [
        "Thành phố Lạng Sơn", "Huyện Tràng Định", "Huyện Bình Gia", "Huyện Văn Lãng", "Huyện Cao Lộc",
        "Huyện Văn Quan", "Huyện Bắc Sơn", "Huyện Hữu Lũng", "Huyện Chi Lăng", "Huyện Lộc Bình", "Huyện Đình Lập"]
    assert sum(len(c) for _h, c in groups) == 200


def test_the_new_meeting_page_shows_today_s_units_and_no_district(demo, client, login_as):
    login_as("scheduler")
    page = client.get("/meetings/new").get_data(as_text=True)
    assert "Toàn Tỉnh Lạng Sơn" in page and "Phường Kỳ Lừa" in page
    assert "Toàn Huyện" not in page and "Huyện Cao Lộc" not in page
