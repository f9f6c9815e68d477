"""A meeting's basis document (typed, edXML, hostile XML), the template upload, the issue quoted by the invites,
the late-notice warning, the PDF without LibreOffice, and who may do what."""

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document

from tests.booking.conftest import next_working_day
from tests.conftest import deliver_outbox, page_text
from vmeeting.core.extensions import db
from vmeeting.documents import render, service
from vmeeting.documents.letter import letter_context
from vmeeting.documents.models import BasisDocument, LetterTemplate
from vmeeting.documents.sample import SAMPLE_CONTEXT
from vmeeting.documents.template_build import DEFAULT_TEMPLATE
from vmeeting.working_time.models import DeclaredDay

EDXML = (Path(__file__).parent / "sample.edxml").read_bytes()
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&e;</edXML>')
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _docx_with(text):
    """A .docx whose body is one paragraph of text (tags and all)."""
    document = Document(str(DEFAULT_TEMPLATE))
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# -- the basis document -----------------------------------------------------------------------------


def test_an_edxml_file_fills_the_basis_document_and_its_pdf(client, login_as, get_csrf, meeting):
    login_as("scheduler")
    page = f"/meetings/{meeting.id}/giay-moi"
    response = client.post(f"{page}/basis", data={"basis-csrf_token": get_csrf(page), "action": "save",
                                                  "basis-edxml": (io.BytesIO(EDXML), "125-UBND-KGVX.edxml")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, page_text(response)
    row = db.session.scalar(sa.select(BasisDocument))
    assert (row.number, row.issued_on, row.issuer, row.source) == (
        "125/UBND-KGVX", date(2027, 1, 20), "Ủy ban nhân dân tỉnh Lạng Sơn", "edxml")
    assert row.summary.startswith("V/v tổ chức Hội nghị trực tuyến") and row.pdf.startswith(b"%PDF-")
    context = letter_context(meeting, None, row, today=date(2027, 2, 5))
    assert context["basis_line"] == ("Thực hiện văn bản số 125/UBND-KGVX ngày 20/01/2027 của Ủy ban nhân dân tỉnh "
                                     "Lạng Sơn về việc tổ chức Hội nghị trực tuyến tổng kết công tác chuyển đổi số "
                                     "năm 2026,")
    assert client.get(f"{page}/basis.pdf").data == row.pdf
    assert "125/UBND-KGVX" in page_text(client.get(page))


@pytest.mark.parametrize("content, reason", [
    (BILLION_LAUGHS, "DTD hoặc thực thể"),
    (EXTERNAL_ENTITY, "DTD hoặc thực thể"),
    (b"<html><body>not a document</body></html>", "không phải văn bản điện tử edXML"),
    (b"%PDF-1.4 not xml", "không phải là tệp XML"),
])
def test_a_hostile_or_foreign_file_is_refused_by_the_api_and_the_page(client, login_as, get_csrf, api_headers,
                                                                      meeting, content, reason):
    response = client.put(f"/api/v1/meetings/{meeting.id}/basis-document", headers=api_headers("scheduler"),
                          data={"edxml": (io.BytesIO(content), "x.edxml")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert reason in response.json["error"]["fields"]["edxml"]
    login_as("scheduler")
    page = f"/meetings/{meeting.id}/giay-moi"
    response = client.post(f"{page}/basis", data={"basis-csrf_token": get_csrf(page), "action": "save",
                                                  "basis-edxml": (io.BytesIO(content), "x.edxml")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and reason in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BasisDocument)) == 0


def test_the_api_takes_a_typed_basis_document_and_names_bad_fields(client, api_headers, meeting):
    headers = api_headers("scheduler")
    url = f"/api/v1/meetings/{meeting.id}/basis-document"
    bad = client.put(url, headers=headers, json={"number": "", "issued_on": "20/13/2027", "issuer": "x" * 301})
    assert bad.status_code == 400
    assert set(bad.json["error"]["fields"]) == {"number", "issued_on", "issuer", "summary"}
    good = client.put(url, headers=headers, json={"number": "125/UBND-KGVX", "issued_on": "2027-01-20",
                                                  "issuer": "UBND tỉnh Lạng Sơn", "summary": "V/v họp"})
    assert good.status_code == 200 and good.json["source"] == "typed"
    assert client.put(url, headers=api_headers("viewer"), json={}).status_code == 403


# -- the template -------------------------------------------------------------------------------------


def test_the_sample_meeting_has_every_tag_a_real_one_has(app, meeting):
    assert set(SAMPLE_CONTEXT) == set(service.context_for(meeting))


@pytest.mark.parametrize("text, named", [
    ("{{ summary ", "{{ summary"),
    ("{{ chu_tri_khong_co }}", "chu_tri_khong_co"),
    ("{% for x in agenda %}{{ x }}", "endfor"),
])
def test_a_template_with_a_broken_tag_is_refused_naming_it(client, login_as, get_csrf, text, named):
    login_as("admin")
    response = client.post("/documents/template", data={"csrf_token": get_csrf("/documents/template"),
                                                       "action": "upload",
                                                       "template": (io.BytesIO(_docx_with(text)), "mau.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert named in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LetterTemplate)) == 0


def test_an_office_template_is_checked_then_used(client, login_as, get_csrf, make_user, meeting):
    login_as("admin")
    response = client.post("/documents/template", data={
        "csrf_token": get_csrf("/documents/template"), "action": "upload",
        "template": (io.BytesIO(_docx_with("Mẫu riêng của Sở: {{ summary }} — {{ site_count }} điểm cầu")),
                     "mau-so.docx")}, content_type="multipart/form-data")
    assert response.status_code == 302, page_text(response)
    text = "\n".join(p.text for p in Document(io.BytesIO(service.docx_for(meeting))).paragraphs)
    assert f"Mẫu riêng của Sở: {meeting.title} — 5 điểm cầu" in text
    client.post("/documents/template", data={"csrf_token": get_csrf("/documents/template"), "action": "default"})
    assert service.active_template() is None


def test_only_an_admin_touches_the_template(client, login_as):
    login_as("scheduler")
    assert client.get("/documents/template").status_code == 403


def _broken_docx():
    """The default template with its document.xml cut in half."""
    source, out = zipfile.ZipFile(DEFAULT_TEMPLATE), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data[:len(data) // 2] if item.filename == "word/document.xml" else data)
    return out.getvalue()


@pytest.mark.parametrize("content, reason", [(b"plain text", "docx"), ("zip", "Không điền được mẫu"),
                                             ("cut", "Không điền được mẫu")])
def test_check_template_refuses_a_file_that_is_not_a_docx(content, reason):
    if content == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("a.txt", "không phải Word")
        content = out.getvalue()
    elif content == "cut":
        content = _broken_docx()
    with pytest.raises(service.ValidationError) as refused:
        render.check_template(content, SAMPLE_CONTEXT)
    assert reason in refused.value.fields["template"]


# -- the issue, quoted by the invites -------------------------------------------------------------------


def test_the_issued_giay_moi_is_quoted_by_the_invites_and_its_pdf_attached(client, api_headers, invited, book,
                                                                           smtp, app):
    meeting = book([invited["hall"], *invited["communes"]], next_working_day(8) + timedelta(days=21),
                   title="Hội nghị trực tuyến tổng kết năm")
    headers = api_headers("scheduler")
    response = client.put(f"/api/v1/meetings/{meeting.id}/giay-moi", headers=headers,
                          data={"number": "12/GM-UBND", "issued_on": "2027-02-05", "attach_pdf": "true",
                                "signed_pdf": (io.BytesIO(PDF), "Giấy mời 12.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    assert response.json["reference"] == "Theo Giấy mời số 12/GM-UBND ngày 05/02/2027"
    deliver_outbox()
    mail = smtp.to("vanphong@langson.gov.vn")[-1]
    body = mail.get_body(("plain",)).get_content()
    assert "Theo Giấy mời số 12/GM-UBND ngày 05/02/2027" in body
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert attachments["Giấy mời 12.pdf"] == PDF


def test_issuing_without_a_number_is_refused_and_changes_nothing(client, api_headers, meeting):
    response = client.put(f"/api/v1/meetings/{meeting.id}/giay-moi", headers=api_headers("scheduler"),
                          json={"number": "12", "issued_on": "hôm qua", "attach_pdf": True})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"number", "issued_on", "attach_pdf"}
    assert service.letter_of(meeting) is None


# -- the notice period ----------------------------------------------------------------------------------


def test_a_booking_less_than_3_working_days_ahead_is_warned_not_refused(client, api_headers, sites):
    headers = api_headers("scheduler")
    soon = next_working_day(9)
    answer = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Họp gấp", "starts_at": soon.isoformat(), "ends_at": (soon + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": sites["hall"].id, "endpoint_ids": [sites["hall"].id]})
    assert answer.status_code == 201, answer.json
    assert [w["kind"] for w in answer.json["warnings"]] == ["late_notice"]
    later = soon + timedelta(days=28)
    answer = client.post("/api/v1/meetings", headers=headers, json={
        "title": "Họp thường kỳ", "starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat(),
        "chair_endpoint_id": sites["hall"].id, "endpoint_ids": [sites["hall"].id]})
    assert answer.status_code == 201 and answer.json["warnings"] == []


def test_the_notice_period_counts_working_days_on_the_working_calendar(app):
    monday = date(2027, 3, 15)
    # Wednesday, Thursday, Friday before it: the giấy mời goes out on Wednesday at the latest
    assert service.latest_sending_day(monday) == date(2027, 3, 10)
    db.session.add(DeclaredDay(day=date(2027, 3, 11), kind="day_off", name="Nghỉ bù"))
    db.session.commit()
    assert service.latest_sending_day(monday) == date(2027, 3, 9)


# -- the PDF --------------------------------------------------------------------------------------------


def test_without_libreoffice_the_page_says_so_and_offers_the_docx(client, login_as, api_headers, meeting,
                                                                   monkeypatch):
    monkeypatch.setattr(render, "soffice_path", lambda: None)
    login_as("viewer")
    page = page_text(client.get(f"/meetings/{meeting.id}/giay-moi"))
    assert "chưa cài LibreOffice" in page and "Tạo giấy mời (Word .docx)" in page
    response = client.get(f"/api/v1/meetings/{meeting.id}/giay-moi.pdf", headers=api_headers("viewer"))
    assert response.status_code == 503 and response.json["error"]["code"] == "converter_unavailable"
    docx = client.get(f"/meetings/{meeting.id}/giay-moi.docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"


def test_a_viewer_reads_the_draft_but_changes_nothing(client, login_as, get_csrf, meeting):
    login_as("viewer")
    page = f"/meetings/{meeting.id}/giay-moi"
    assert client.get(page).status_code == 200
    for action in ("basis", "draft", "issue"):
        assert client.post(f"{page}/{action}", data={"csrf_token": get_csrf(page)}).status_code == 403


def test_the_draft_form_keeps_the_clerks_fields(client, login_as, get_csrf, meeting):
    login_as("scheduler")
    page = f"/meetings/{meeting.id}/giay-moi"
    response = client.post(f"{page}/draft", data={
        "letter-csrf_token": get_csrf(page), "letter-issuing_body": "Văn phòng UBND tỉnh",
        "letter-notation": "VP", "letter-signer_name": "Hoàng Văn Bình", "letter-chair_person": "Chủ tịch UBND tỉnh"})
    assert response.status_code == 302, page_text(response)
    bad = client.post(f"{page}/draft", data={"letter-csrf_token": get_csrf(page), "letter-notation": "GM/VP"})
    assert bad.status_code == 400 and "Ký hiệu chỉ gồm" in page_text(bad)
    context = service.context_for(meeting)
    assert (context["notation"], context["signer_name"]) == ("VP", "Hoàng Văn Bình")
