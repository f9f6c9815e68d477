"""The registry's reasons on English pages: said in English where a page shows them, Vietnamese elsewhere.

The service keeps its Vietnamese (the API, the CLI and files use it word for
word); the endpoint form, the registry's flashes and the import preview say it
in the page's language through `text.shown`.
"""

import csv
import html
import io

import openpyxl
import pytest

from tests.booking.conftest import book, next_monday, sites  # noqa: F401 (fixtures used here)
from tests.registry.test_views import endpoint_form_data, field_errors
from tests.conftest import page_text, shown_in_english, switch_to_english
from vmeeting.core.errors import Conflict
from vmeeting.core.extensions import db
from vmeeting.registry import service
from vmeeting.registry.models import Endpoint

TAKEN_VI = "Mã «LS-DL-01» đã được dùng cho điểm cầu «UBND huyện Đình Lập»."
TAKEN_EN = "The code «LS-DL-01» is already used by the endpoint «UBND huyện Đình Lập»."


def upload(client, get_csrf, data, filename="diem-cau.csv"):
    return client.post("/endpoints/import", content_type="multipart/form-data",
                       data={"file": (data, filename), "csrf_token": get_csrf("/endpoints/import")})


def csv_upload(lines):
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return io.BytesIO(out.getvalue().encode("utf-8"))


# -- the endpoint form -----------------------------------------------------------------


def test_a_taken_code_is_named_in_english_on_the_english_form(client, login_as, get_csrf, make_endpoint, district):
    make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-DL-01")
    login_as("scheduler")
    switch_to_english(client, "/endpoints")
    response = client.post("/endpoints/new", data={**endpoint_form_data(district),
                                                   "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 400
    assert field_errors(response, "code") == [TAKEN_EN]
    assert TAKEN_VI not in page_text(response)


def test_the_vietnamese_form_and_the_api_keep_the_vietnamese_reason(client, login_as, get_csrf, make_endpoint,
                                                                     district, api_headers):
    make_endpoint("UBND huyện Đình Lập", unit=district, code="LS-DL-01")
    login_as("scheduler")
    response = client.post("/endpoints/new", data={**endpoint_form_data(district),
                                                   "csrf_token": get_csrf("/endpoints/new")})
    assert field_errors(response, "code") == [TAKEN_VI]
    switch_to_english(client, "/endpoints")  # a browser in English mode does not change the API's words
    body = {"code": "ls-dl-01", "name": "Điểm khác", "unit_id": district.id}
    response = client.post("/api/v1/endpoints", json=body, headers=api_headers("admin"))
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["code"] == (
        "Mã «ls-dl-01» trùng với mã «LS-DL-01» của điểm cầu «UBND huyện Đình Lập»"
        " (mã không phân biệt chữ hoa, chữ thường).")


@pytest.mark.parametrize("field, value, reason", [
    ("contact_emails", "vp@binhxa.vn, khong-phai-thu", "The e-mail address «khong-phai-thu» is not valid."),
    ("sip_uri", "http://not-sip", "A SIP address must look like sip:room@server[:port][;transport=tcp]."),
    ("sip_uri", "sip:a@may_chu", "The host name «may_chu» in the SIP address is not valid"),
    ("code", "LS\u200b01", "(at most 40 characters). The code has "),
    ("name", "", "Enter the endpoint name."),
])
def test_a_fields_own_check_speaks_english_on_the_english_form(client, login_as, get_csrf, district,
                                                               field, value, reason):
    login_as("admin")
    switch_to_english(client, "/endpoints")
    response = client.post("/endpoints/new", data={**endpoint_form_data(district, **{field: value}),
                                                   "csrf_token": get_csrf("/endpoints/new")})
    assert response.status_code == 400
    assert any(reason in text for text in field_errors(response, field)), field_errors(response, field)


def test_the_unit_bridge_and_group_forms_speak_english(client, login_as, get_csrf, make_bridge, province):
    login_as("admin")
    switch_to_english(client, "/endpoints")
    response = client.post("/units/new", data={"name": "", "code": "", "kind": "xã",
                                               "csrf_token": get_csrf("/units/new")})
    assert field_errors(response, "name") == ["Enter the unit's name (at most 200 characters)."]
    bridge = make_bridge()
    response = client.post("/bridges/new", data={"code": bridge.code, "name": "Cầu khác", "ports": "0",
                                                 "csrf_token": get_csrf("/bridges/new")})
    assert field_errors(response, "code") == [f"The code «{bridge.code}» is already used."]
    assert field_errors(response, "ports") == ["Ports must be a whole number from 1 to 100000."]


# -- retiring a site in use ------------------------------------------------------------


def test_a_refused_retire_is_flashed_in_english_on_the_english_page(app, client, login_as, get_csrf, sites, book):
    hall = sites["hall"]
    book([hall], next_monday(8), title="Giao ban tháng")
    with pytest.raises(Conflict) as refused:
        service.retire_endpoint(hall)
    db.session.rollback()
    vietnamese, english_text = refused.value.message, shown_in_english(app, refused.value.message)
    assert "đang có lịch họp «Giao ban tháng»" in vietnamese and english_text != vietnamese

    login_as("scheduler")
    switch_to_english(client, "/endpoints")
    url = f"/endpoints/{hall.id}/retire"
    response = client.post(url, data={"csrf_token": get_csrf(url)}, follow_redirects=True)
    text = page_text(response)
    assert english_text in text and vietnamese not in text
    assert db.session.get(Endpoint, hall.id).status == "active"


def test_a_refused_retire_stays_vietnamese_on_the_vietnamese_page_and_the_api(client, login_as, get_csrf, sites,
                                                                               book, api_headers):
    hall = sites["hall"]
    book([hall], next_monday(8), title="Giao ban tháng")
    login_as("scheduler")
    url = f"/endpoints/{hall.id}/retire"
    text = page_text(client.post(url, data={"csrf_token": get_csrf(url)}, follow_redirects=True))
    assert f"Điểm cầu «{hall.name}» đang có lịch họp «Giao ban tháng»" in text
    switch_to_english(client, "/endpoints")
    response = client.delete(f"/api/v1/endpoints/{hall.id}", headers=api_headers("admin"))
    assert response.status_code == 409
    assert response.get_json()["error"]["message"].startswith(f"Điểm cầu «{hall.name}» đang có lịch họp")


# -- the import preview ----------------------------------------------------------------


def _bad_rows():
    return csv_upload([
        ["code", "name", "unit_code", "probe", "contact_emails"],
        ["LS-01", "UBND xã Bính Xá", "185", "none", ""],
        ["", "Thiếu mã", "185", "none", ""],
        ["LS-03", "Đơn vị lạ", "999", "none", ""],
        ["LS-04", "Thư sai", "185", "kiểu lạ", "khong-phai-thu"],
    ])


def test_the_import_preview_gives_each_rows_reason_in_english(client, login_as, get_csrf, district):
    login_as("scheduler")
    switch_to_english(client, "/endpoints")
    text = page_text(upload(client, get_csrf, _bad_rows()))
    assert text.count('data-testid="bad-row"') == 3
    for reason in ("Enter the endpoint code.", "No unit valid today has the code «999».",
                   "The e-mail address «khong-phai-thu» is not valid.",
                   # the words a file may hold are the file's, in Vietnamese
                   "Must be one of: SIP OPTIONS, Kết nối TCP, Không kiểm tra."):
        assert reason in text
    for reason in ("Nhập mã điểm cầu.", "Không có đơn vị mã", "không hợp lệ", "Phải là một trong"):
        assert reason not in text


def test_the_vietnamese_import_preview_keeps_the_vietnamese_reasons(client, login_as, get_csrf, district):
    login_as("scheduler")
    text = page_text(upload(client, get_csrf, _bad_rows()))
    for reason in ("Nhập mã điểm cầu.", "Không có đơn vị mã «999» đang có hiệu lực.",
                   "Địa chỉ thư «khong-phai-thu» không hợp lệ.",
                   "Phải là một trong: SIP OPTIONS, Kết nối TCP, Không kiểm tra."):
        assert reason in text


def test_an_unreadable_cell_and_a_bad_file_are_explained_in_english(client, login_as, get_csrf, district):
    workbook = openpyxl.Workbook()
    workbook.active.append(["code", "name", "unit_code", "contact_phone"])
    workbook.active.append(["LS-01", "UBND xã Bính Xá", "185", 912345678])  # Excel dropped the leading zero
    out = io.BytesIO()
    workbook.save(out)
    login_as("scheduler")
    switch_to_english(client, "/endpoints")
    text = page_text(upload(client, get_csrf, io.BytesIO(out.getvalue()), filename="diem-cau.xlsx"))
    assert "The cell is a number (912345678), so Excel dropped the leading 0." in text
    assert "Excel đã bỏ số 0" not in text

    response = upload(client, get_csrf, csv_upload([["code", "name"], ["LS-01", "UBND xã Bính Xá"]]))
    assert response.status_code == 400
    assert field_errors(response, "file") == ["Missing columns: Mã đơn vị (unit_code) or Đơn vị (unit_name)."]
    response = upload(client, get_csrf, io.BytesIO(b"anything"), filename="diem-cau.txt")
    assert field_errors(response, "file") == ["Only .csv or .xlsx files are accepted."]


def test_the_cli_import_keeps_the_vietnamese_reasons(runner, district, tmp_path):
    path = tmp_path / "diem-cau.csv"
    path.write_bytes(_bad_rows().getvalue())
    result = runner.invoke(args=["endpoints", "import", str(path)])
    assert result.exit_code != 0
    assert "Không có đơn vị mã «999» đang có hiệu lực." in html.unescape(result.output)
