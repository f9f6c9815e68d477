"""The giấy mời of the demo province's meeting of all 213 sites: DOCX layout (Nghị định 30/2020, Phụ lục I), PDF text.

The DOCX is read back with python-docx: page size, margins, fonts and sizes
of each part, the date line, the wording per level, the annex. The PDF is
LibreOffice's (headless), read back with pdftotext.
"""

import io
import os
import shutil
import subprocess
import unicodedata
from datetime import date

import pytest
import sqlalchemy as sa
from docx import Document
from docx.shared import Pt

from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.documents import service, template_build
from vmeeting.documents.letter import formal_date
from vmeeting.documents.render import docx_to_pdf

LETTER = {
    "parent_body": "Ủy ban nhân dân tỉnh Lạng Sơn", "issuing_body": "Văn phòng Ủy ban nhân dân tỉnh",
    "notation": "VP", "chair_person": "Đồng chí Chủ tịch Ủy ban nhân dân tỉnh",
    "attendees_province": "Lãnh đạo các sở, ban, ngành tỉnh",
    "attendees_commune": "Chủ tịch, Phó Chủ tịch Ủy ban nhân dân xã, phường",
    "signer_authority": "TL. Chủ tịch", "signer_title": "Chánh Văn phòng", "signer_name": "Hoàng Văn Bình",
    "recipients": "Như thành phần mời\nChủ tịch, các PCT UBND tỉnh",
}
DRAFT_DAY = date(2027, 2, 5)


@pytest.mark.parametrize("day, line", [
    (date(2027, 2, 5), "Lạng Sơn, ngày 05 tháng 02 năm 2027"),
    (date(2027, 1, 20), "Lạng Sơn, ngày 20 tháng 01 năm 2027"),
    (date(2027, 3, 9), "Lạng Sơn, ngày 09 tháng 3 năm 2027"),
    (date(2027, 11, 30), "Lạng Sơn, ngày 30 tháng 11 năm 2027"),
])
def test_the_date_line_has_a_zero_before_days_1_to_9_and_months_1_and_2(day, line):
    assert formal_date(day, "Lạng Sơn") == line


@pytest.fixture
def province_meeting(app, demo_province):
    meeting = max(db.session.scalars(sa.select(Meeting)), key=lambda m: m.endpoint_count)
    assert meeting.endpoint_count == 213
    service.save_letter(meeting, LETTER)
    db.session.commit()
    return meeting


def _runs_of(paragraph):
    return [run for run in paragraph.runs if run.text.strip()]


def _paragraph(document, starts):
    """The first paragraph (body or table cell) whose text starts with `starts`."""
    for paragraph in _all_paragraphs(document):
        if paragraph.text.strip().startswith(starts):
            return paragraph
    raise AssertionError(f"no paragraph starts with {starts!r}")


def _all_paragraphs(document):
    yield from document.paragraphs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def _looks(paragraph, size, bold=False, italic=False, upper=False):
    runs = _runs_of(paragraph)
    assert runs, paragraph.text
    for run in runs:
        assert run.font.name == "Times New Roman", paragraph.text
        assert run.font.size == Pt(size), (paragraph.text, run.font.size.pt)
        assert bool(run.font.bold) == bold, paragraph.text
        assert bool(run.font.italic) == italic, paragraph.text
    if upper:
        assert paragraph.text == paragraph.text.upper()


def test_the_docx_follows_phu_luc_i_and_lists_every_site(province_meeting):
    document = Document(io.BytesIO(service.docx_for(province_meeting, today=DRAFT_DAY)))
    section = document.sections[0]
    mm = {name: round(getattr(section, name).mm, 1) for name in
          ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin", "right_margin")}
    assert (mm["page_width"], mm["page_height"]) == (210, 297)  # A4, stored in twips
    assert 20 <= mm["top_margin"] <= 25 and 20 <= mm["bottom_margin"] <= 25
    assert 30 <= mm["left_margin"] <= 35 and 15 <= mm["right_margin"] <= 20
    # page numbers from page 2: a first page of its own, without one; the others a PAGE field in the top margin
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml and "PAGE" not in section.first_page_header._element.xml

    _looks(_paragraph(document, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), 12, bold=True, upper=True)
    _looks(_paragraph(document, "Độc lập - Tự do - Hạnh phúc"), 13, bold=True)
    _looks(_paragraph(document, "ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN"), 13, upper=True)
    _looks(_paragraph(document, "VĂN PHÒNG ỦY BAN NHÂN DÂN TỈNH"), 13, bold=True, upper=True)
    number = _paragraph(document, "Số:")
    assert number.text == "Số:       /GM-VP"  # left blank for the văn thư
    _looks(number, 13)
    date_line = _paragraph(document, "Lạng Sơn, ngày")
    assert date_line.text == "Lạng Sơn, ngày 05 tháng 02 năm 2027"
    _looks(date_line, 14, italic=True)
    _looks(_paragraph(document, "GIẤY MỜI"), 14, bold=True, upper=True)
    _looks(_paragraph(document, province_meeting.title), 14, bold=True)
    _looks(_paragraph(document, "Văn phòng Ủy ban nhân dân tỉnh trân trọng kính mời"), 14)
    _looks(_paragraph(document, "Nơi nhận:"), 12, bold=True, italic=True)
    _looks(_paragraph(document, "- Như thành phần mời;"), 11)
    assert _paragraph(document, "- Lưu: VT.").text == "- Lưu: VT."
    _looks(_paragraph(document, "TL. CHỦ TỊCH"), 14, bold=True, upper=True)
    _looks(_paragraph(document, "CHÁNH VĂN PHÒNG"), 14, bold=True, upper=True)
    _looks(_paragraph(document, "Hoàng Văn Bình"), 14, bold=True)

    text = "\n".join(p.text for p in _all_paragraphs(document))
    assert unicodedata.is_normalized("NFC", text)
    assert "- Chủ trì: Đồng chí Chủ tịch Ủy ban nhân dân tỉnh." in text
    assert f"- Tại điểm cầu {province_meeting.chair.name}: Lãnh đạo các sở, ban, ngành tỉnh" in text
    assert ("- Tại các điểm cầu cấp xã (211 điểm cầu): Chủ tịch, Phó Chủ tịch Ủy ban nhân dân xã, phường"
            in text)
    assert "- Các điểm cầu cấp xã (211 điểm cầu): tại điểm cầu của đơn vị." in text
    assert "3. Thời gian\n- từ 08 giờ 00 đến 11 giờ 00, thứ " in text  # a heading as its neighbours, then the time
    assert "trước giờ họp 15 phút" in text and "thời gian chuẩn bị từ 07 giờ 30 đến 08 giờ 00" in text
    assert "- Liên hệ kỹ thuật: đồng chí " in text
    # the annex: every site, numbered 1 to 213, under its district
    assert "Tổng số: 213 điểm cầu." in text
    numbered = [p.text for p in document.paragraphs if p.text.split(". ", 1)[0].isdigit()]
    site_lines = [line for line in numbered if "(địa bàn cũ)" not in line and "điểm cầu)" not in line]
    assert [int(line.split(".")[0]) for line in site_lines][-213:] == list(range(1, 214))
    assert "Huyện Tràng Định (địa bàn cũ) (23 điểm cầu)" in text
    for paragraph in document.paragraphs:
        for run in _runs_of(paragraph):
            assert run.font.name == "Times New Roman"


def test_the_pdf_has_the_same_parts_with_vietnamese_letters_intact(province_meeting):
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        if os.environ.get("REQUIRE_LIBREOFFICE"):
            pytest.fail("REQUIRE_LIBREOFFICE is set but soffice or pdftotext is not installed")
        pytest.skip("LibreOffice or poppler-utils not installed")
    pdf = docx_to_pdf(service.docx_for(province_meeting, today=DRAFT_DAY))
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")
    flat = " ".join(text.split())
    for part in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN",
                 "Lạng Sơn, ngày 05 tháng 02 năm 2027", "GIẤY MỜI", "Số:", "/GM-VP", "trân trọng kính mời",
                 "tại điểm cầu của đơn vị", "Đại biểu có mặt tại điểm cầu trước giờ họp 15 phút", "Nơi nhận:",
                 "Lưu: VT.", "TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Hoàng Văn Bình", "Phụ lục",
                 "DANH SÁCH ĐIỂM CẦU DỰ HỌP", "Tổng số: 213 điểm cầu.", "Huyện Đình Lập (địa bàn cũ)", "213. "):
        assert part in flat, part
    assert unicodedata.is_normalized("NFC", text)
    # page numbers from page 2: the first page's text holds none of its own
    pages = text.split("\f")
    assert len(pages) > 3 and pages[1].strip().startswith("2") and not pages[0].strip().startswith("1")


def test_the_shipped_template_is_what_the_script_builds(tmp_path):
    built = tmp_path / "built.docx"
    template_build.main([str(built)])
    fresh, shipped = Document(str(built)), Document(str(template_build.DEFAULT_TEMPLATE))
    assert fresh.element.xml == shipped.element.xml
    assert fresh.sections[0].header._element.xml == shipped.sections[0].header._element.xml
