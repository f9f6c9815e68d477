"""Real and hostile spreadsheets: sizes, Excel's number formats, formulas, dates, Vietnamese headers.

The workbooks are written as Excel writes them (openpyxl with number formats,
formulas without cached values, dates) or, for the hostile ones, part by part
(tests/registry/hostile.py).
"""

import io
import os
import re
import shutil
import subprocess
import tracemalloc
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa

from tests.conftest import count
from tests.registry.hostile import ENTITY_BOMB, HEADER, inline_row, raw_xlsx
from tests.registry.test_transfer import commune, export_all, registry  # noqa: F401 (fixtures)
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint

MEMORY_LIMIT = 100 * 1024 * 1024


def workbook_bytes(rows, formats=None, title=None):
    """Return an XLSX as Excel would save it: `formats` maps a cell ("D2") to its number format."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.title = title
    for cells in rows:
        sheet.append(cells)
    for coordinate, number_format in (formats or {}).items():
        sheet[coordinate].number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def refusal_and_peak(filename, data):
    """Read a file under tracemalloc; return (the refusal's text or None, the peak of memory in bytes)."""
    tracemalloc.start()
    try:
        transfer.read_rows(filename, data)
        reason = None
    except ValidationError as exc:
        reason = exc.fields["file"]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return reason, peak


# -- 6. sizes ------------------------------------------------------------------------------


def _cells_far_right(rows):
    return HEADER + b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(2, rows + 2))


@pytest.mark.parametrize("name, data, reason", [
    # 10,000 × 16,384 cells declared in a few kilobytes: 1.3 GB before the fix
    ("declared-cells", raw_xlsx(_cells_far_right(10000), dimension="A1:XFD10000"), "cột XFD"),
    # the same cells with no dimension to give them away: read 60 columns wide, nothing padded
    ("undeclared-cells", raw_xlsx(_cells_far_right(10000)), "không có dòng dữ liệu"),
    ("declared-rows", raw_xlsx(HEADER, dimension="A1:C1048576"), "dòng 1048576"),
    ("undeclared-rows", raw_xlsx(HEADER + inline_row(1048576, ["x"])), "dòng 21001"),
    # 25,000 rows without row numbers or a dimension: counted in the XML, refused before openpyxl reads one
    ("unnumbered-rows", raw_xlsx(HEADER + b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 25000),
     "Trang tính có hơn 21000 dòng"),
    # one shared string that unpacks to 200 MB
    ("huge-shared-string", raw_xlsx(HEADER, shared_strings=b"<si><t>" + b"a" * (200 * 2**20) + b"</t></si>"),
     "giải nén lớn 200 MB"),
    # a 16 MB shared-strings part of a million empty strings (each one an XML element openpyxl keeps)
    ("many-shared-strings", raw_xlsx(HEADER, shared_strings=b"<si/>" * 1_000_000), "hơn 200000 chuỗi"),
    ("long-cell", raw_xlsx(HEADER + inline_row(2, ["LS-1", "x" * 50000, "1"])), "dài 50000 ký tự"),
])
def test_hostile_workbooks_are_refused_early_within_memory(name, data, reason):
    assert len(data) < 300 * 1024
    refusal, peak = refusal_and_peak("a.xlsx", data)
    assert refusal is not None and reason in refusal, refusal
    assert peak < MEMORY_LIMIT, f"{name}: {peak / 2**20:.0f} MB"


def test_xml_entities_are_refused_before_they_expand():
    """openpyxl parses through defusedxml (a dependency), which forbids entities; expat alone expands ~70 MB."""
    assert openpyxl.DEFUSEDXML
    data = raw_xlsx(HEADER + b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>',
                    shared_strings=b"<si><t>&a9;</t></si>", strings_prolog=ENTITY_BOMB)
    refusal, peak = refusal_and_peak("a.xlsx", data)
    assert "Không đọc được" in refusal and peak < 5 * 2**20


def test_a_damaged_zip_whose_sizes_lie_is_refused(app):
    data = bytearray(raw_xlsx(HEADER + inline_row(2, ["LS-1", "Một", "1"])))
    # Make the central directory declare 10 bytes for the sheet: zipfile stops there, and the read fails cleanly.
    entry = data.rfind(b"PK\x01\x02", 0, data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02")) + 1)
    data[entry + 24:entry + 28] = (10).to_bytes(4, "little")
    refusal, _peak = refusal_and_peak("a.xlsx", bytes(data))
    assert "Không đọc được" in refusal


@pytest.mark.parametrize("name, data, reason", [
    ("huge-line", b"code,name,unit_id\r\n" + b"," * (5 * 2**20), "Dòng 2 của tệp CSV dài quá"),
    ("huge-file", b"code,name,unit_id\r\n" + b"LS-1,Mot,1\r\n" * (2**20), "lớn hơn 10 MB"),
    # four million blank lines would keep a worker busy for a minute
    ("blank-lines", b"code,name,unit_id\r\n" + b"\r\n" * (4 * 2**20), "hơn 21000 dòng (kể cả dòng trống)"),
    ("long-cell", b'code,name,unit_id\r\nLS-1,"' + b"x\n" * 100000 + b'",1\r\n', "ô dài"),
    ("wide-row", b"code,name,unit_id\r\n" + b"," * 60000 + b"\r\n", "60001 cột"),
])
def test_hostile_csv_files_are_refused_within_memory(name, data, reason):
    refusal, peak = refusal_and_peak("a.csv", data)
    assert refusal is not None and reason in refusal, refusal
    assert peak < MEMORY_LIMIT, f"{name}: {peak / 2**20:.0f} MB"


def test_the_cli_reads_no_more_than_the_limit(runner, tmp_path):
    path = tmp_path / "lon.csv"
    path.write_bytes(b"code,name,unit_id\r\n" + b"LS-1,Mot,1\r\n" * (2**20))
    result = runner.invoke(args=["endpoints", "import", str(path)])
    assert result.exit_code == 1 and "lớn hơn 10 MB" in result.output
    assert count(Endpoint) == 0


def test_an_upload_over_the_request_limit_gets_413_as_a_page_and_as_json(client, login_as, get_csrf, api_headers):
    login_as("scheduler")
    big = b"code,name,unit_id\r\n" + b"x" * (11 * 2**20)
    response = client.post("/endpoints/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(big), "lon.csv"), "csrf_token": get_csrf("/endpoints/import")})
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "quá lớn" in text and "10 MB" in text and "<html" in text
    response = client.post("/api/v1/endpoints", headers={**api_headers("admin"), "Content-Type": "application/json"},
                           data=b'{"name": "' + b"x" * (11 * 2**20) + b'"}')
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "10 MB" in error["message"]

    client.post("/lang/en", data={"csrf_token": get_csrf("/endpoints/import")})
    response = client.post("/endpoints/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(big), "lon.csv"), "csrf_token": get_csrf("/endpoints/import")})
    assert response.status_code == 413
    assert "The file or data sent is too large: at most 10 MB at a time." in response.get_data(as_text=True)


# -- 10. numbers that are text -------------------------------------------------------------


def test_a_phone_in_a_number_cell_is_read_through_its_format_or_refused(district):
    data = workbook_bytes([
        ["code", "name", "unit_id", "contact_phone", "device_serial", "probe"],
        ["LS-1", "Một", district.id, 912345678, 1234567, "none"],        # shows 0912345678
        ["LS-2", "Hai", district.id, 912345678, None, "none"],           # General: the zero is gone
        ["LS-3", "Ba", district.id, "0912345678", None, "none"],         # typed as text
        ["LS-4", "Bốn", district.id, 2053820123, None, "none"],          # shows 0205 382 0123
        ["LS-5", "Năm", district.id, 84912345678, None, "none"],         # +84 typed as a number loses its "+"
    ], formats={"D2": "0000000000", "D5": '0000" "000" "0000', "E2": "00000000"})
    rows = transfer.read_rows("a.xlsx", data)
    assert [r.get("contact_phone") for r in rows] == ["0912345678", "", "0912345678", "0205 382 0123", ""]
    assert rows[0]["device_serial"] == "01234567"
    report = transfer.check_rows(rows)
    errors = {r.number: r.errors for r in report.rows if r.errors}
    assert set(errors) == {3, 6}
    assert "912345678" in errors[3]["contact_phone"] and "bỏ số 0" in errors[3]["contact_phone"]
    assert "Văn bản (Text)" in errors[6]["contact_phone"]


def test_a_long_number_excel_rounded_is_refused(district):
    data = workbook_bytes([["code", "name", "unit_id", "device_serial", "probe"],
                           ["LS-1", "Một", district.id, 123456789012345678, "none"]])
    report = transfer.check_rows(transfer.read_rows("a.xlsx", data))
    assert "làm tròn" in report.rows[0].errors["device_serial"]


# -- 12. clearer refusals ------------------------------------------------------------------


def test_a_formula_without_a_cached_value_is_named(district):
    # openpyxl, like many generators, writes formulas without the value Excel would cache.
    data = workbook_bytes([["code", "name", "unit_id"], ["LS-1", '=CONCATENATE("UBND ", "xã Một")', district.id]])
    report = transfer.check_rows(transfer.read_rows("a.xlsx", data))
    assert "công thức Excel chưa tính" in report.rows[0].errors["name"]
    assert count(Endpoint) == 0


def test_a_formula_with_its_cached_value_is_read(district):
    row = (b'<row r="2"><c r="A2" t="inlineStr"><is><t>LS-1</t></is></c>'
           b'<c r="B2" t="str"><f>CONCATENATE("UBND ","x\xc3\xa3 M\xe1\xbb\x99t")</f><v>UBND x\xc3\xa3 M\xe1\xbb\x99t</v></c>'
           b'<c r="C2"><f>%d+0</f><v>%d</v></c></row>' % (district.id, district.id))
    rows = transfer.read_rows("a.xlsx", raw_xlsx(HEADER + row))
    assert rows == [{"code": "LS-1", "name": "UBND xã Một", "unit_id": str(district.id), "_row": 2}]


def test_a_title_above_the_header_is_refused_with_where_the_header_is():
    data = workbook_bytes([["DANH SÁCH ĐIỂM CẦU TRUYỀN HÌNH TỈNH LẠNG SƠN"], [None],
                           ["Mã điểm cầu", "Tên điểm cầu", "Mã đơn vị"], ["LS-1", "Một", "187"]])
    with pytest.raises(ValidationError) as caught:
        transfer.read_rows("a.xlsx", data)
    reason = caught.value.fields["file"]
    assert "Dòng tiêu đề (tên cột) phải là dòng đầu tiên" in reason and "dòng 3" in reason
    assert "DANH SÁCH ĐIỂM CẦU" in reason
    # A blank row above the header is no title: it is skipped as before.
    rows = transfer.read_rows("a.xlsx", workbook_bytes([[None], ["code", "name", "unit_code"], ["LS-1", "Một", "187"]]))
    assert rows == [{"code": "LS-1", "name": "Một", "unit_code": "187", "_row": 3}]


@pytest.mark.parametrize("code, named", [
    ("LS-178\u200b", "ký tự khoảng trắng độ rộng 0 (zero width space, U+200B) ở vị trí 7"),
    ("LS\u00a0178", "dấu cách không ngắt (no-break space, U+00A0) ở vị trí 3"),
    ("\ufeffLS-178", "dấu BOM"),
    ("LS-\u0110", "«Đ» (latin capital letter d with stroke, U+0110)"),
])
def test_an_invisible_character_in_a_code_is_named(district, code, named):
    data = workbook_bytes([["code", "name", "unit_id"], [code, "Một", district.id]])
    report = transfer.check_rows(transfer.read_rows("a.xlsx", data))
    assert named in report.rows[0].errors["code"]


def test_an_invisible_character_is_named_by_the_api_too(client, api_headers, district):
    response = client.post("/api/v1/endpoints", headers=api_headers("admin"),
                           json={"code": "LS-9\u200b", "name": "Chín", "unit_id": district.id, "probe": "none"})
    assert response.status_code == 400
    assert "zero width space" in response.get_json()["error"]["fields"]["code"]


def test_a_date_in_a_text_column_is_refused(district):
    # "3-5" typed into a General cell becomes 3 May; Excel shows it as a date.
    data = workbook_bytes([["code", "name", "unit_id", "device_model"],
                           [datetime(2026, 5, 3), "Một", district.id, "Polycom"]], formats={"A2": "d-mmm"})
    report = transfer.check_rows(transfer.read_rows("a.xlsx", data))
    reason = report.rows[0].errors["code"]
    assert "ngày/giờ (03/05/2026)" in reason and "Văn bản (Text)" in reason


# -- 11. Vietnamese headers and values -------------------------------------------------------


def test_vietnamese_headers_and_values_are_read(district, commune):
    data = workbook_bytes([
        ["MÃ ĐIỂM CẦU", "Tên điểm cầu", "Đơn vị", "Địa chỉ SIP", "Trạng thái", "Loại điểm cầu",
         "kiem tra tu dong", "Số điện thoại", "Đường truyền", "Ghi chú (*)"],
        ["LS-187-05", "UBND xã Hòa Bình", "Xã Hòa Bình", "sip:hoabinh@vc.example.vn", "Bảo trì", "Cấp xã",
         "Không kiểm tra", "0205 3820 123", "Mạng TSLCD", "Tầng 2"],
        ["LS-187", "UBND huyện Chi Lăng", "huyen chi lang", "", "hoạt động", "CẤP HUYỆN", "không kiểm tra", "",
         "internet", ""],
    ])
    rows = transfer.read_rows("van-phong.xlsx", data)
    report = transfer.apply_rows(rows)
    db.session.commit()
    assert (report.created, report.invalid) == (2, 0)
    first = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-187-05"))
    assert (first.unit_id, first.status, first.category, first.probe, first.transport, first.notes) == (
        commune.id, "maintenance", "commune", "none", "tslcd", "Tầng 2")
    second = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-187"))
    assert (second.unit_id, second.status, second.category, second.transport) == (
        district.id, "active", "district", "internet")


def test_unknown_words_and_ambiguous_unit_names_are_explained(make_unit, district, commune):
    other = make_unit("Huyện Hữu Lũng", "huyện", parent=district.parent, code="181")
    make_unit("Xã Hòa Bình", "xã", parent=other, code="181-07")
    data = workbook_bytes([["Mã điểm cầu", "Tên điểm cầu", "Đơn vị", "Trạng thái", "Kiểm tra"],
                           ["LS-1", "Một", "Xã Hòa Bình", "Đang chạy", "Không"],
                           ["LS-2", "Hai", "Xã Hòa Bình (Huyện Chi Lăng)", "", "Không"],
                           ["LS-3", "Ba", "Xã Không Có", "", "Không"]])
    report = transfer.check_rows(transfer.read_rows("a.xlsx", data))
    first, second, third = report.rows
    assert first.errors["status"] == "Phải là một trong: Hoạt động, Bảo trì, Ngừng sử dụng."
    assert "Có 2 đơn vị tên «Xã Hòa Bình»" in first.errors["unit_name"]
    assert "Xã Hòa Bình (Huyện Chi Lăng) (mã 187-05)" in first.errors["unit_name"]
    assert second.is_valid and second.data["unit_id"] == commune.id
    assert "Không có đơn vị tên «Xã Không Có»" in third.errors["unit_name"]


def test_the_template_offers_lists_and_imports_as_it_comes(client, login_as, district, commune):
    login_as("scheduler")
    assert 'href="/endpoints/import/template.xlsx"' in client.get("/endpoints/import").get_data(as_text=True)
    response = client.get("/endpoints/import/template.xlsx")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet, lists = workbook["Điểm cầu"], workbook["Danh mục"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Mã điểm cầu", "Tên điểm cầu", "Mã đơn vị", "Đơn vị"]
    sample = dict(zip(header, [c.value for c in sheet[2]]))
    assert sample["Trạng thái"] == "Hoạt động" and sample["Điện thoại liên hệ"] == "0912345678"
    assert sample["Mã đơn vị"] == "187-05"
    ranges = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    status_letter = openpyxl.utils.get_column_letter(header.index("Trạng thái") + 1)
    formula = ranges[f"{status_letter}2:{status_letter}2001"]
    words = [c.value for c in lists[formula.split("!")[1].replace("$", "")] for c in c]
    assert words == ["Hoạt động", "Bảo trì", "Ngừng sử dụng"]
    # Text columns are formatted as Text, so Excel keeps a phone's leading zero.
    phone_letter = openpyxl.utils.get_column_letter(header.index("Điện thoại liên hệ") + 1)
    assert sheet.column_dimensions[phone_letter].number_format == "@"
    rows = transfer.read_rows("mau.xlsx", response.get_data())
    report = transfer.check_rows(rows)
    assert report.is_valid and report.created == 1, report.error_fields()


# -- LibreOffice, as an office saves our files -------------------------------------------

SOFFICE = shutil.which("soffice")


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    """Return convert(path, infilter=None) → the bytes of the file LibreOffice Calc saves as XLSX."""
    if SOFFICE is None:
        if os.environ.get("REQUIRE_LIBREOFFICE"):
            pytest.fail("REQUIRE_LIBREOFFICE is set but soffice is not installed")
        pytest.skip("LibreOffice is not installed (Debian: libreoffice-calc-nogui)")
    profile = tmp_path_factory.mktemp("libreoffice-profile")

    def convert(path, infilter=None):
        out = path.parent / "libreoffice"
        command = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                   "--outdir", str(out), str(path)]
        if infilter:
            command[3:3] = [f"--infilter={infilter}"]
        subprocess.run(command, check=True, timeout=300, capture_output=True)
        return (out / f"{path.stem}.xlsx").read_bytes()

    return convert


def test_our_xlsx_saved_again_by_libreoffice_imports_unchanged(registry, libreoffice, tmp_path):
    path = tmp_path / "diem-cau.xlsx"
    path.write_bytes(export_all("xlsx"))
    report = transfer.check_rows(transfer.read_rows("diem-cau.xlsx", libreoffice(path)))
    assert report.is_valid and report.unchanged == 2, report.error_fields()


def test_our_csv_opened_in_libreoffice_loses_a_phone_zero_and_is_refused(registry, make_endpoint, district,
                                                                        libreoffice, tmp_path):
    make_endpoint("UBND xã Vân Thủy", unit=district, code="LS-187-09", contact_phone="0912345678")
    path = tmp_path / "diem-cau.csv"
    path.write_bytes(export_all("csv"))
    # Opened as UTF-8 with "," as separator, as a person picks in Calc's import dialog, then saved as XLSX.
    data = libreoffice(path, infilter="CSV:44,34,76")
    report = transfer.check_rows(transfer.read_rows("diem-cau.xlsx", data))
    bad = {r.code: r.errors for r in report.rows if r.errors}
    assert list(bad) == ["LS-187-09"] and "bỏ số 0" in bad["LS-187-09"]["contact_phone"]


def test_the_import_page_previews_an_office_file_and_applies_it(client, login_as, get_csrf, district, commune):
    login_as("scheduler")
    data = workbook_bytes([
        ["Mã điểm cầu", "Tên điểm cầu", "Đơn vị", "Trạng thái", "Kiểm tra tự động", "Điện thoại liên hệ"],
        ["LS-187-05", "UBND xã Hòa Bình", "Xã Hòa Bình", "Bảo trì", "Không kiểm tra", 912345678],
    ])
    response = client.post("/endpoints/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "van-phong.xlsx"), "csrf_token": get_csrf("/endpoints/import")})
    text = response.get_data(as_text=True)
    assert 'data-testid="bad-row"' in text and "Điện thoại liên hệ" in text and "bỏ số 0" in text
    assert count(Endpoint) == 0
    good = workbook_bytes([
        ["Mã điểm cầu", "Tên điểm cầu", "Đơn vị", "Trạng thái", "Kiểm tra tự động", "Điện thoại liên hệ"],
        ["LS-187-05", "UBND xã Hòa Bình", "Xã Hòa Bình", "Bảo trì", "Không kiểm tra", 912345678],
    ], formats={"F2": "0000000000"})
    response = client.post("/endpoints/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(good), "van-phong.xlsx"), "csrf_token": get_csrf("/endpoints/import")})
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    response = client.post("/endpoints/import/confirm", data={"token": token, "csrf_token": get_csrf("/endpoints")})
    assert response.status_code == 302
    endpoint = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-187-05"))
    assert (endpoint.unit_id, endpoint.status, endpoint.probe, endpoint.contact_phone) == (
        commune.id, "maintenance", "none", "0912345678")
