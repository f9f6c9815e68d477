"""Endpoint import and export: CSV and XLSX, all-or-nothing, every bad row reported."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from tests.conftest import count
from vmeeting.audit.models import AuditEvent
from vmeeting.core.errors import NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint, ImportBatch


def csv_bytes(lines, delimiter=",", bom=False):
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(lines)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_bytes(lines):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for cells in lines:
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_all(fmt="csv", labels="vi"):
    rows = transfer.export_rows(sa.select(Endpoint).order_by(Endpoint.code))
    return transfer.write_csv(rows, labels) if fmt == "csv" else transfer.write_xlsx(rows, labels)


@pytest.fixture
def commune(make_unit, district):
    return make_unit("Xã Hòa Bình", "xã", parent=district, code="187-05")


@pytest.fixture
def registry(make_endpoint, make_bridge, make_user, district, commune):
    """Two endpoints with a bridge, a technician and contacts, ready to export."""
    bridge = make_bridge(ports=20, code="MCU-LS-01")
    tech = make_user("technician", username="kt-chi-lang")
    first = make_endpoint("UBND huyện Chi Lăng", unit=district, code="LS-187", category="district",
                          bridge_id=bridge.id, technician_id=tech.id,
                          contact_emails=["vp@example.vn", "ld@example.vn"], contact_phone="0205 3820 123",
                          notes="Phòng họp tầng 2\nChìa khoá ở bảo vệ")
    second = make_endpoint("UBND xã Hòa Bình", unit=commune, code="LS-187-05", device_model="=Yealink")
    return {"bridge": bridge, "technician": tech, "endpoints": [first, second]}


@pytest.mark.parametrize("labels", transfer.LABELS)
def test_csv_export_round_trip_is_valid_and_changes_nothing(registry, labels):
    data = export_all("csv", labels)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    audits = count(AuditEvent)
    rows = transfer.read_rows("diem-cau.csv", io.BytesIO(data))
    assert [r["code"] for r in rows] == ["LS-187", "LS-187-05"]
    assert rows[0]["contact_emails"] == "vp@example.vn; ld@example.vn"
    assert rows[0]["notes"] == "Phòng họp tầng 2\nChìa khoá ở bảo vệ"
    assert rows[0]["unit_name"] == "Huyện Chi Lăng"
    assert rows[1]["unit_name"] == "Xã Hòa Bình (Huyện Chi Lăng)"
    report = transfer.check_rows(rows)
    assert report.is_valid, report.error_fields()
    assert [r.action for r in report.rows] == ["update", "update"]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    transfer.apply_rows(rows)
    db.session.commit()
    assert count(AuditEvent) == audits


@pytest.mark.parametrize("labels", transfer.LABELS)
def test_xlsx_export_round_trip_is_valid_and_changes_nothing(registry, labels):
    data = export_all("xlsx", labels)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = [transfer.HEADERS[c] for c in transfer.COLUMNS] if labels == "vi" else list(transfer.COLUMNS)
    assert [c.value for c in sheet[1]] == header
    # text that starts with "=" stays text, not a formula
    assert sheet.cell(row=3, column=transfer.COLUMNS.index("device_model") + 1).value == "=Yealink"
    rows = transfer.read_rows("Diem-cau.XLSX", io.BytesIO(data))
    report = transfer.check_rows(rows)
    assert report.is_valid, report.error_fields()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert rows[0]["unit_id"] == str(registry["endpoints"][0].unit_id)
    assert report.rows[0].data["unit_id"] == registry["endpoints"][0].unit_id


def test_good_file_creates_and_updates(registry, commune):
    audits = count(AuditEvent)
    data = csv_bytes([
        ["code", "name", "unit_code", "bridge", "technician", "contact_emails", "status", "probe"],
        ["LS-187", "UBND huyện Chi Lăng", "185", "MCU-LS-01", "kt-chi-lang", "vp@example.vn", "maintenance", ""],
        ["LS-187-09", "UBND xã Vân Thủy", "187-05", "", "KT-Chi-Lang", "a@example.vn, b@example.vn", "", "none"],
    ])
    rows = transfer.read_rows("moi.csv", io.BytesIO(data))
    report = transfer.check_rows(rows)
    assert report.is_valid, report.error_fields()
    assert [r.action for r in report.rows] == ["update", "create"]
    assert report.rows[0].changes == {
        "contact_emails": [["vp@example.vn", "ld@example.vn"], ["vp@example.vn"]],
        "status": ["active", "maintenance"],
    }
    applied = transfer.apply_rows(rows)
    db.session.commit()
    assert (applied.created, applied.updated) == (1, 1)
    first = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-187"))
    assert first.status == "maintenance" and first.contact_emails == ["vp@example.vn"]
    assert first.notes == "Phòng họp tầng 2\nChìa khoá ở bảo vệ"  # a column absent from the file is kept
    new = db.session.scalar(sa.select(Endpoint).where(Endpoint.code == "LS-187-09"))
    assert new.unit_id == commune.id and new.technician_id == registry["technician"].id
    assert new.contact_emails == ["a@example.vn", "b@example.vn"] and new.bridge_id is None
    assert count(AuditEvent) == audits + 2


def test_every_bad_row_is_reported_and_nothing_is_stored(registry):
    endpoints_before, audits = count(Endpoint), count(AuditEvent)
    data = csv_bytes([
        ["code", "name", "unit_code", "contact_emails", "bridge", "technician", "probe"],
        ["LS-OK-1", "UBND xã Tốt", "187-05", "tot@example.vn", "", "", "none"],
        ["LS-BAD-1", "UBND xã Thư Sai", "187-05", "khong-phai-thu", "", "", "none"],
        ["LS-BAD-2", "UBND xã Không Có", "999", "", "", "", "none"],
        ["LS-OK-1", "UBND xã Trùng Mã", "187-05", "", "", "", "none"],
        ["LS-BAD-3", "", "187-05", "", "MCU-KHONG-CO", "admin", "none"],
    ])
    rows = transfer.read_rows("loi.csv", io.BytesIO(data))
    report = transfer.check_rows(rows)
    assert not report.is_valid and report.invalid == 4
    errors = {r.number: r.errors for r in report.rows if r.errors}
    assert set(errors) == {3, 4, 5, 6}
    assert "khong-phai-thu" in errors[3]["contact_emails"]
    assert "999" in errors[4]["unit_code"] and "unit_id" not in errors[4]
    assert "dòng 2" in errors[5]["code"]
    assert set(errors[6]) == {"name", "bridge", "technician"}
    with pytest.raises(ValidationError) as caught:
        transfer.apply_rows(rows)
    assert isinstance(caught.value, transfer.ImportRejected)
    assert "Dòng 3, cột contact_emails" in caught.value.fields
    assert len(caught.value.fields) == 6
    db.session.commit()
    assert count(Endpoint) == endpoints_before and count(AuditEvent) == audits


def test_a_rule_checked_only_when_writing_undoes_every_row(registry):
    """Creating a retired endpoint fails in create_endpoint; the rows before it are undone too."""
    before = count(Endpoint)
    data = csv_bytes([
        ["code", "name", "unit_code", "status", "sip_uri"],
        ["LS-NEW-1", "UBND xã Một", "187-05", "active", "sip:ls-new-1@vc.langson.example.vn"],
        ["LS-NEW-2", "UBND xã Hai", "187-05", "retired", "sip:ls-new-2@vc.langson.example.vn"],
    ])
    rows = transfer.read_rows("a.csv", io.BytesIO(data))
    with pytest.raises(transfer.ImportRejected) as caught:
        transfer.apply_rows(rows)
    assert list(caught.value.fields) == ["Dòng 3, cột status"]
    db.session.commit()
    assert count(Endpoint) == before


def test_semicolon_csv_with_bom_and_nfd_text(district):
    name_nfd = "UBND huyện Chi Lăng".replace("ă", "a\u0306")
    data = csv_bytes([["Code", "Name", "Unit_ID", "Notes", "probe"], ["LS-X", name_nfd, str(district.id), "Ghi chú; có dấu chấm phẩy", "none"]],
                     delimiter=";", bom=True)
    assert data.startswith(b"\xef\xbb\xbfCode;Name;") and b'"Ghi ch' in data
    rows = transfer.read_rows("excel.csv", io.BytesIO(data))
    assert rows == [{"code": "LS-X", "name": "UBND huyện Chi Lăng", "unit_id": str(district.id),
                     "notes": "Ghi chú; có dấu chấm phẩy", "probe": "none", "_row": 2}]
    report = transfer.check_rows(rows)
    assert report.is_valid and report.created == 1


def test_excel_separator_hint_line(district):
    data = f"sep=;\r\ncode;name;unit_id;probe\r\nLS-X;UBND huyện Chi Lăng;{district.id};none\r\n".encode()
    rows = transfer.read_rows("excel.csv", io.BytesIO(data))
    assert rows == [{"code": "LS-X", "name": "UBND huyện Chi Lăng", "unit_id": str(district.id), "probe": "none",
                     "_row": 3}]


def test_unit_code_is_resolved_among_units_valid_today(make_unit, province):
    from datetime import date

    make_unit("Phường Vĩnh Trại", "phường", parent=province, code="05", valid_from=date(2020, 1, 1),
              valid_to=date(2025, 6, 30))
    today = make_unit("Phường Đông Kinh", "phường", parent=province, code="05", valid_from=date(2025, 7, 1))
    make_unit("Xã A", "xã", parent=province, code="77")
    make_unit("Xã B", "xã", parent=province, code="77")
    rows = [{"code": "E1", "name": "Một", "unit_code": "05", "probe": "none", "_row": 2},
            {"code": "E2", "name": "Hai", "unit_code": "77", "_row": 3},
            {"code": "E3", "name": "Ba", "unit_id": str(today.id), "unit_code": "77", "_row": 4}]
    report = transfer.check_rows(rows)
    assert report.rows[0].is_valid and report.rows[0].data["unit_id"] == today.id
    assert "nhiều đơn vị" in report.rows[1].errors["unit_code"]
    assert "không khớp" in report.rows[2].errors["unit_code"]


@pytest.mark.parametrize("filename, data, reason", [
    ("a.txt", b"code,name\n", ".csv hoặc .xlsx"),
    ("a.csv", b"", "trống"),
    ("a.csv", b"code,name,unit_id\r\n", "không có dòng dữ liệu"),
    ("a.csv", b"code,unit_id\r\nX,1\r\n", "Thiếu cột: Tên điểm cầu (name)"),
    ("a.csv", b"code,name\r\nX,Y\r\n", "Mã đơn vị (unit_code) hoặc Đơn vị (unit_name)"),
    ("a.csv", "code,name,unit_id\r\nX,Hòa,1\r\n".encode("cp1252"), "UTF-8"),
    ("a.xlsx", b"PK\x03\x04 not really a workbook", "Excel"),
])
def test_unusable_files_are_refused_with_a_reason(app, filename, data, reason):
    with pytest.raises(ValidationError) as caught:
        transfer.read_rows(filename, io.BytesIO(data))
    assert reason in caught.value.fields["file"]


def test_xlsx_numbers_and_blank_rows(district):
    data = xlsx_bytes([["code", "name", "unit_id", "contact_phone"], [], ["LS-1", "UBND huyện Chi Lăng", district.id, None],
                       [None, None, None, None]])
    rows = transfer.read_rows("a.xlsx", io.BytesIO(data))
    assert rows == [{"code": "LS-1", "name": "UBND huyện Chi Lăng", "unit_id": str(district.id),
                     "contact_phone": "", "_row": 3}]
    assert transfer.check_rows(rows).rows[0].number == 3


def test_staged_batch_is_loaded_only_by_its_uploader_once(registry, make_user, district):
    scheduler, other = make_user("scheduler"), make_user("scheduler")
    rows = [{"code": "LS-NEW", "name": "UBND xã Mới", "unit_id": str(district.id), "probe": "none", "_row": 2}]
    batch = transfer.stage_import(rows, "moi.csv", scheduler)
    db.session.commit()
    assert len(batch.token) >= 40
    with pytest.raises(NotFound):
        transfer.load_batch(batch.token, other)
    with pytest.raises(NotFound):
        transfer.load_batch("khong-co", scheduler)
    loaded = transfer.load_batch(batch.token, scheduler)
    report = transfer.apply_batch(loaded, scheduler)
    db.session.commit()
    assert report.created == 1 and loaded.applied_at is not None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "endpoint",
                                                          AuditEvent.action == "create")
                              .order_by(AuditEvent.id.desc()))
    assert event.actor_id == scheduler.id
    with pytest.raises(NotFound):
        transfer.load_batch(batch.token, scheduler)


def test_staged_batch_expires_after_a_day(registry, make_user, district):
    scheduler = make_user("scheduler")
    batch = transfer.stage_import([{"code": "X", "name": "Y", "unit_id": "1", "_row": 2}], "x.csv", scheduler)
    batch.created_at = batch.created_at - timedelta(hours=25)
    db.session.commit()
    with pytest.raises(NotFound):
        transfer.load_batch(batch.token, scheduler)


def test_bad_batch_applies_nothing_and_stays_open(registry, make_user):
    scheduler = make_user("scheduler")
    before = count(Endpoint)
    batch = transfer.stage_import([{"code": "LS-NEW", "name": "", "unit_code": "185", "_row": 2}], "x.csv", scheduler)
    db.session.commit()
    with pytest.raises(ValidationError):
        transfer.apply_batch(transfer.load_batch(batch.token, scheduler), scheduler)
    db.session.rollback()
    assert count(Endpoint) == before
    assert db.session.get(ImportBatch, batch.id).applied_at is None


def test_export_loads_relations_without_a_query_per_row(registry, make_endpoint, commune):
    for _ in range(10):
        make_endpoint(unit=commune, technician_id=registry["technician"].id, bridge_id=registry["bridge"].id)
    db.session.expire_all()
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        rows = transfer.export_rows(sa.select(Endpoint))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    assert len(rows) == 12 and len(statements) <= 6


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_with_cells_beyond_the_header_is_refused_not_shifted(district, fmt):
    """An unquoted comma in a name ("UBND xã Hòa Bình, cũ") pushes the row's cells one column right."""
    lines = [["code", "name", "unit_id", "probe"],
             ["LS-A", "UBND xã Yên Trạch", str(district.id), "none"],
             ["LS-B", "UBND xã Hòa Bình", " cũ", str(district.id), "none"]]
    data = csv_bytes(lines) if fmt == "csv" else xlsx_bytes(lines)
    rows = transfer.read_rows(f"sites.{fmt}", io.BytesIO(data))
    report = transfer.check_rows(rows)
    assert not report.is_valid and report.invalid == 1
    fields = report.error_fields()
    assert "Dòng 3, cột E" in fields and not any(key.startswith("Dòng 2") for key in fields)
    assert "ngoài các cột của dòng tiêu đề" in fields["Dòng 3, cột E"]


@pytest.mark.parametrize("unit_id", ["2147483648", "9223372036854775808", "99999999999999999999"])
def test_a_unit_id_past_the_databases_range_is_a_row_error(district, unit_id):
    rows = transfer.read_rows("sites.csv", io.BytesIO(csv_bytes([["code", "name", "unit_id", "probe"],
                                                                 ["LS-Z", "UBND xã Z", unit_id, "none"]])))
    report = transfer.check_rows(rows)
    assert report.error_fields() == {"Dòng 2, cột unit_id": "Không có đơn vị này."}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_row_number_column_and_an_unknown_one_are_set_aside_not_refused(district, fmt):
    """Nearly every office list numbers its rows ("STT"); a column of the office's own is set aside with a note."""
    lines = [["STT", "Mã điểm cầu", "Tên điểm cầu", "ID đơn vị", "Ghi chú nội bộ", "Kiểm tra tự động"],
             [1, "LS-A", "UBND xã Yên Trạch", str(district.id), "gọi trước 8h", "Không"],
             [2, "LS-B", "UBND xã Hòa Bình", str(district.id), "", "Không"],
             [3, "", "", "", "", ""]]  # a numbered blank row is a blank row
    if fmt == "csv":
        data = csv_bytes([[str(cell) for cell in line] for line in lines])
    else:
        data = xlsx_bytes(lines)
    read = transfer.read_file(f"van-phong.{fmt}", io.BytesIO(data))
    assert read.set_aside == [("A", "STT"), ("E", "Ghi chú nội bộ")]
    assert read.note() == ("Các cột sau không thuộc danh mục điểm cầu nên không được nhập:"
                           " «STT» (A), «Ghi chú nội bộ» (E).")
    assert [sorted(k for k in row if not k.startswith("_")) for row in read.rows] == [
        ["code", "name", "probe", "unit_id"]] * 2
    report = transfer.check_rows(read.rows)
    assert report.is_valid, report.error_fields()
    transfer.apply_rows(read.rows)
    db.session.commit()
    assert db.session.scalars(sa.select(Endpoint.code).order_by(Endpoint.code)).all() == ["LS-A", "LS-B"]


def test_the_import_preview_shows_the_columns_set_aside(client, login_as, get_csrf, district):
    login_as("scheduler")
    data = csv_bytes([["STT", "code", "name", "unit_id", "probe"], ["1", "LS-A", "UBND xã A", str(district.id), "none"]])
    response = client.post("/endpoints/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "a.csv"), "csrf_token": get_csrf("/endpoints/import")})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-testid="set-aside"' in text and "«STT» (A)" in text
    assert "Xác nhận nhập 1 dòng" in text


def test_the_cli_import_says_which_columns_it_set_aside(runner, district, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([["STT", "code", "name", "unit_id", "probe"],
                                ["1", "LS-A", "UBND xã A", str(district.id), "none"]]))
    result = runner.invoke(args=["endpoints", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "«STT» (A)" in result.output and "1 tạo mới" in result.output
