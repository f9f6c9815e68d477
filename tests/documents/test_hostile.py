"""The giấy mời under hostile or unlucky input (a breaker's run over issue 28): characters XML forbids, a
template that reaches for Python or unpacks to gigabytes, two first writes of one meeting's documents at once."""

import io
import json
import threading
import urllib.error
import urllib.request
import zipfile

import pytest
import sqlalchemy as sa
from docx import Document

from tests.conftest import page_text
from vmeeting.core.extensions import db
from vmeeting.documents import render, service
from vmeeting.documents.models import BasisDocument, InvitationLetter, LetterTemplate
from vmeeting.documents.sample import SAMPLE_CONTEXT
from vmeeting.documents.template_build import DEFAULT_TEMPLATE


def _text_of(docx_bytes):
    return "\n".join(p.text for p in Document(io.BytesIO(docx_bytes)).paragraphs)


def test_a_control_character_anywhere_never_cuts_the_draft(client, api_headers, meeting):
    """docxtpl parses the filled XML again in lxml's recover mode: a \\x01 in a field used to cut the text after
    it silently ("UBND <b>&amp; Lạng Sơn" came out as "UBND bamp;") in a document people sign."""
    headers = api_headers("scheduler")
    response = client.put(f"/api/v1/meetings/{meeting.id}/basis-document", headers=headers, json={
        "number": "125/UBND\u0001-KGVX", "issued_on": "2027-01-20", "issuer": "UBND <b>&amp; \u0007tỉnh Lạng Sơn",
        "summary": "V/v họp \u000btrực tuyến"})
    assert response.status_code == 200, response.json
    meeting.description = "Báo cáo \u0002kết quả <năm> 2026 & kế hoạch."
    db.session.commit()
    text = _text_of(client.get(f"/api/v1/meetings/{meeting.id}/giay-moi.docx", headers=headers).data)
    assert ("Thực hiện văn bản số 125/UBND-KGVX ngày 20/01/2027 của UBND <b>&amp; tỉnh Lạng Sơn "
            "về việc họp trực tuyến,") in text
    assert "Báo cáo kết quả <năm> 2026 & kế hoạch." in text


def _template_with(text):
    document = Document(str(DEFAULT_TEMPLATE))
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("tag", [
    "{{ summary.__class__.__mro__[1].__subclasses__()|length }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% set _ = agenda.append('x') %}{{ agenda }}",
])
def test_a_template_cannot_reach_python_from_its_tags(client, login_as, get_csrf, tag):
    """Jinja's sandbox: an uploaded template's tags used to run as unrestricted Python expressions (the
    subclasses of object, and through them os), on the server, with every later giấy mời."""
    login_as("admin")
    response = client.post("/documents/template", data={
        "csrf_token": get_csrf("/documents/template"), "action": "upload",
        "template": (io.BytesIO(_template_with(f"Mẫu: {tag}")), "mau.docx")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "không được phép" in page_text(response) or "Không điền được mẫu" in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LetterTemplate)) == 0


def test_a_template_that_unpacks_to_gigabytes_is_refused_before_it_is_unpacked():
    """A zip bomb: well under the 5 MB upload limit, its document.xml states 4 GB; nothing is read of it."""
    source, out = zipfile.ZipFile(DEFAULT_TEMPLATE), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item.filename))
        with target.open("word/media/padding.bin", "w", force_zip64=True) as padding:
            chunk = b"\0" * (1 << 20)
            for _ in range(render.MAX_TEMPLATE_UNPACKED_BYTES // len(chunk) + 8):
                padding.write(chunk)
    data = out.getvalue()
    assert len(data) < render.MAX_TEMPLATE_BYTES
    with pytest.raises(service.ValidationError) as refused:
        render.check_template(data, SAMPLE_CONTEXT)
    assert "giải nén" in refused.value.fields["template"]


def test_first_writes_of_one_meetings_documents_at_once_are_each_answered(app, live_server, api_headers, meeting):
    """Two first PUTs of a meeting's basis document (or issue) used to both insert: on PostgreSQL all but one
    answered 500 (the unique meeting_id). The meeting's row lock makes them take turns."""
    tokens = [api_headers("scheduler")["Authorization"] for _ in range(2)]
    base, statuses = f"{live_server.url}/api/v1/meetings/{meeting.id}", []
    for path, make in (
            ("basis-document", lambda i: {"number": f"{i}/UBND", "issued_on": "2027-01-20", "issuer": "UBND tỉnh",
                                          "summary": "V/v họp"}),
            ("giay-moi", lambda i: {"number": f"{i}/GM-UBND", "issued_on": "2027-02-05"})):
        barrier = threading.Barrier(8)

        def attempt(i, path=path, make=make, barrier=barrier):
            request = urllib.request.Request(
                f"{base}/{path}", data=json.dumps(make(i)).encode(),
                method="PUT", headers={"Authorization": tokens[i % 2], "Content-Type": "application/json"})
            barrier.wait()
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    statuses.append(answer.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 16
    db.session.rollback()  # end the test's own read (SQLite's WAL keeps its snapshot)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BasisDocument)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationLetter)) == 1


def test_an_office_template_that_fails_for_a_real_meeting_is_said_not_a_500(client, login_as, get_csrf, api_headers,
                                                                              meeting):
    """A template is checked with the sample meeting (3 sites) only: `{{ 100 // (site_count - 5) }}` passed it, and
    every giấy mời of a meeting of 5 sites, DOCX and PDF, page and API, answered 500."""
    login_as("admin")
    response = client.post("/documents/template", data={
        "csrf_token": get_csrf("/documents/template"), "action": "upload",
        "template": (io.BytesIO(_template_with("Tỷ lệ: {{ 100 // (site_count - 5) }}")), "mau.docx")},
        content_type="multipart/form-data")
    assert response.status_code == 302, page_text(response)
    login_as("scheduler")
    for suffix in ("docx", "pdf"):
        response = client.get(f"/meetings/{meeting.id}/giay-moi.{suffix}")
        assert response.status_code == 302 and response.location.endswith(f"/meetings/{meeting.id}/giay-moi")
        assert "không điền được cho cuộc họp này" in page_text(client.get(response.location))
        answer = client.get(f"/api/v1/meetings/{meeting.id}/giay-moi.{suffix}", headers=api_headers("viewer"))
        assert answer.status_code == 409 and answer.json["error"]["code"] == "template_failed"
        assert "division" in answer.json["error"]["message"]
