"""Home is the "today" board: today's and tomorrow's sittings with their readiness, failed mail, my sites."""

import re
from datetime import datetime, time, timedelta

import pytest

from vmeeting.core.extensions import db
from vmeeting.outbox.models import OutboxMail
from vmeeting.readiness.models import Readiness
from tests.booking.conftest import VN, book, move_into_the_past, sites  # noqa: F401 (fixtures)


@pytest.fixture
def board(sites, book, make_user):
    """A sitting today (three sites: one ready, one with an issue and unreachable, one pending) and one tomorrow."""
    tomorrow = datetime.now(VN).date() + timedelta(days=1)
    at = lambda hour: datetime.combine(tomorrow, time(hour), tzinfo=VN)  # noqa: E731
    technician = make_user("technician", username="kythuat")
    for site in sites["communes"][:2]:
        site.technician_id = technician.id
    today = book([sites["hall"], *sites["communes"][:2]], at(14), title="Giao ban hôm nay", allow_non_working_time=True)
    move_into_the_past(today, timedelta(days=-1))
    book([sites["communes"][3]], at(9), title="Tiếp dân ngày mai", allow_non_working_time=True)
    occurrence = today.occurrences[0]
    db.session.add_all([
        Readiness(occurrence_id=occurrence.id, endpoint_id=sites["hall"].id, status="ready"),
        Readiness(occurrence_id=occurrence.id, endpoint_id=sites["communes"][0].id, status="issue", is_reachable=False),
        OutboxMail(key="k1", recipient="vanthu@langson.gov.vn", subject="Mời họp: Giao ban", message="x",
                   status="failed", last_error="550 mailbox unavailable"),
    ])
    db.session.commit()
    return technician


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_board_shows_today_and_tomorrow_with_readiness_counts(client, login_as, board):
    login_as("scheduler")
    response = client.get("/")
    assert response.status_code == 200
    text = text_of(response.get_data(as_text=True))
    assert text.index("Giao ban hôm nay") < text.index("Ngày mai") < text.index("Tiếp dân ngày mai")
    # three sites, three verdicts: the issue that is also unreachable counts once, as unreachable (never 4 of 3)
    assert ("Sẵn sàng: 1 Chưa xác nhận: 1 Có sự cố: 0 Sự cố đang mở: 0 Không kết nối được: 1 Mất kết nối: 0"
            " = 3 điểm cầu") in text
    assert "Thư mời gửi lỗi 1" in text and "vanthu@langson.gov.vn" in text and "550 mailbox unavailable" in text


def test_a_technician_sees_the_own_sites_still_to_confirm(client, login, board, sites):
    login(board)
    text = text_of(client.get("/").get_data(as_text=True))
    assert "1/2 đã xác nhận" in text  # an issue reported is an answer; the other site waits
    assert sites["communes"][1].name in text
    assert "Thư mời gửi lỗi" not in text  # the outbox is for those who book


def test_a_viewer_sees_the_sittings_but_not_the_outbox(client, login_as, board):
    login_as("viewer")
    text = text_of(client.get("/").get_data(as_text=True))
    assert "Giao ban hôm nay" in text and "Thư mời gửi lỗi" not in text and "đã xác nhận" not in text


def test_signing_in_lands_on_the_board_and_the_menu_names_it(client, login_as):
    login_as("viewer")
    html = client.get("/").get_data(as_text=True)
    assert 'aria-current="page" href="/">Hôm nay</a>' in html.replace("\n", "").replace("             ", "")


def test_a_busy_day_lists_its_first_sittings_and_links_to_the_rest(client, login_as, board, sites, book, monkeypatch):
    """A national day holds hundreds of sittings: the board lists SITTINGS_SHOWN, counts them all, links the day."""
    from vmeeting.home import views as home

    tomorrow = datetime.now(VN).date() + timedelta(days=1)
    book([sites["communes"][2]], datetime.combine(tomorrow, time(15), tzinfo=VN), title="Họp chiều mai",
         allow_non_working_time=True)
    monkeypatch.setattr(home, "SITTINGS_SHOWN", 1)
    login_as("viewer")
    html = client.get("/").get_data(as_text=True)
    assert re.findall(r'data-testid="board-day-total">(\d+)<', html) == ["1", "2"]
    text = text_of(html)
    assert "Tiếp dân ngày mai" in text and "Họp chiều mai" not in text
    assert "và 1 buổi họp khác" in text and f'/calendar?view=day&amp;date={tomorrow.isoformat()}' in html
