"""Excel downloads: the meeting list with its filters, and one sitting's sites with their readiness verdict."""

import io
from datetime import datetime

import openpyxl
import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures)
from tests.registry.test_sheets import libreoffice  # noqa: F401 (fixture)
from vmeeting.booking import service
from vmeeting.core.extensions import db
from vmeeting.core.timefmt import to_local
from vmeeting.readiness.models import Readiness


def sheet_rows(data):
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    return sheet, [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def meetings(sites, book):
    monday = next_monday(8)
    kept = book([sites["hall"], *sites["communes"][:2]], monday, title="=HYPERLINK(\"http://x\") Giao ban",
                chair=sites["hall"])
    gone = book([sites["communes"][3]], monday.replace(hour=14), title="Tiếp dân xã Vân An")
    service.cancel_meeting(gone)
    db.session.commit()
    return kept, gone


def test_the_meeting_list_downloads_with_its_filters(client, login_as, meetings):
    kept, gone = meetings
    login_as("viewer")
    html = client.get("/meetings?status=scheduled").get_data(as_text=True)
    assert 'href="/meetings.xlsx?status=scheduled&amp;when=upcoming"' in html
    response = client.get("/meetings.xlsx?status=scheduled&when=upcoming")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment; filename=cuoc-hop-" in response.headers["Content-Disposition"]
    sheet, rows = sheet_rows(response.get_data())
    assert rows[0][0].startswith("Cuộc họp (Sắp diễn ra, Đã lên lịch)")
    assert rows[1][:3] == ["Cuộc họp", "Buổi tới", "Bắt đầu"]
    assert [r[0] for r in rows[2:]] == [kept.title]
    title = sheet.cell(row=3, column=1)
    assert title.data_type == "s" and title.value.startswith("=HYPERLINK")  # text, never a formula
    assert rows[2][5:8] == ["UBND tỉnh Lạng Sơn", 3, "Đã lên lịch"]

    _sheet, rows = sheet_rows(client.get("/meetings.xlsx?status=cancelled&when=all&q=van an").get_data())
    assert [r[0] for r in rows[2:]] == ["Tiếp dân xã Vân An"] and rows[2][7] == "Đã hủy"


def test_one_sittings_sites_download_by_district_with_technician_phone_and_verdict(client, login_as, sites, book,
                                                                                  make_user):
    technician = make_user("technician", username="kythuat", full_name="Hoàng Văn Kỹ")
    first, second = sites["communes"][:2]
    first.technician_id, first.contact_phone = technician.id, "0912345678"
    second.contact_name, second.contact_phone = "Lý Thị Liên", "0205 3870 123"
    meeting = book([sites["hall"], first, second], next_monday(8), chair=sites["hall"], title="Giao ban")
    occurrence = meeting.occurrences[0]
    db.session.add_all([
        Readiness(occurrence_id=occurrence.id, endpoint_id=first.id, status="ready", is_reachable=True),
        Readiness(occurrence_id=occurrence.id, endpoint_id=second.id, status="issue", note="Mất tiếng",
                  is_reachable=False),
    ])
    db.session.commit()
    login_as("viewer")
    assert f'href="/meetings/{meeting.id}/sites.xlsx"' in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    response = client.get(f"/meetings/{meeting.id}/sites.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    _sheet, rows = sheet_rows(response.get_data())
    assert rows[0][0].startswith("Giao ban · ")
    assert rows[1] == ["#", "Huyện / đơn vị", "Điểm cầu", "Mã", "Kỹ thuật viên", "Điện thoại", "Sẵn sàng", "Ghi chú"]
    assert [r[:3] + r[4:] for r in rows[2:]] == [
        [1, "Tỉnh Lạng Sơn", "UBND tỉnh Lạng Sơn", None, None, "Chưa xác nhận", None],
        [2, "Huyện Chi Lăng", first.name, "Hoàng Văn Kỹ", "0912345678", "Sẵn sàng", None],
        # the board's one verdict (readiness.verdict): a site the probe could not reach reads so first
        [3, "Huyện Chi Lăng", second.name, "Lý Thị Liên", "0205 3870 123", "Không kết nối được", "Mất tiếng"],
    ]


def test_the_downloads_check_the_role_and_the_ids(client, login_as, meetings):
    kept, _gone = meetings
    assert client.get("/meetings.xlsx").status_code == 302  # to the login page
    assert client.get(f"/meetings/{kept.id}/sites.xlsx").status_code == 302
    login_as("viewer")
    assert client.get("/meetings/999999/sites.xlsx").status_code == 404
    assert client.get(f"/meetings/{kept.id}/sites.xlsx?occurrence_id=99999999999999999999").status_code == 404
    assert client.get(f"/meetings/{kept.id}/sites.xlsx?occurrence_id=abc").status_code == 404


def test_libreoffice_opens_both_downloads(client, login_as, meetings, libreoffice, tmp_path):  # noqa: F811
    kept, _gone = meetings
    login_as("viewer")
    for name, path in (("cuoc-hop", "/meetings.xlsx?when=all"), ("diem-cau", f"/meetings/{kept.id}/sites.xlsx")):
        file = tmp_path / f"{name}.xlsx"
        file.write_bytes(client.get(path).get_data())
        _sheet, ours = sheet_rows(file.read_bytes())
        _sheet, theirs = sheet_rows(libreoffice(file))
        assert theirs == ours


def test_a_search_typed_with_control_characters_downloads_without_them(client, login_as, meetings):
    """XML 1.0 cannot carry U+0000–U+001F but tab and line ends; the search lands in the caption."""
    login_as("viewer")
    response = client.get("/meetings.xlsx?when=all&q=giao%01%1F ban%0B")
    assert response.status_code == 200
    _sheet, rows = sheet_rows(response.get_data())
    assert "giao ban" in rows[0][0] and not any(chr(c) in rows[0][0] for c in (1, 0x0B, 0x1F))
    assert client.get("/meetings.xlsx?q=%00").status_code in (200, 400)  # PostgreSQL's text refuses NUL: 400


def test_the_meeting_list_writes_typed_dates_that_sort_and_filter(client, login_as, meetings, libreoffice,  # noqa: F811
                                                                   tmp_path):
    """Dates as text sort 02/01 before 31/12; typed cells with a number format sort as dates."""
    kept, gone = meetings
    login_as("viewer")
    data = client.get("/meetings.xlsx?when=all").get_data()
    sheet, rows = sheet_rows(data)
    by_title = {row[0]: number for number, row in enumerate(rows[2:], start=3)}
    line = by_title[kept.title]
    coming, starts, ends = (sheet.cell(row=line, column=column) for column in (2, 3, 4))
    local_start = to_local(kept.starts_at).replace(tzinfo=None)
    assert all(cell.is_date for cell in (coming, starts, ends)), [(c.data_type, c.value) for c in (coming, starts, ends)]
    assert starts.value == coming.value == local_start and isinstance(starts.value, datetime)
    assert ends.value == to_local(kept.ends_at).replace(tzinfo=None)
    assert (starts.number_format, coming.number_format, ends.number_format) == (
        "dd/mm/yyyy hh:mm", "dd/mm/yyyy hh:mm", "hh:mm")
    # LibreOffice reads them as dates too, and keeps them so when it saves the file again
    file = tmp_path / "cuoc-hop.xlsx"
    file.write_bytes(data)
    again = openpyxl.load_workbook(io.BytesIO(libreoffice(file))).worksheets[0]
    cell = again.cell(row=line, column=3)
    assert cell.is_date and cell.value == local_start
