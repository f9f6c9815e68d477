"""Build the default giấy mời template (a .docx with docxtpl tags) with python-docx: reproducible, reviewable.

Run `python -m vmeeting.documents.template_build [PATH]` (default: the shipped
`vmeeting/documents/giay_moi_mau.docx`) after changing this file, and commit
both. The layout is that of Nghị định 30/2020/NĐ-CP, Phụ lục I ("Thể thức, kỹ
thuật trình bày văn bản hành chính và bản sao văn bản"):

- Mục I.1–4: A4 (210 × 297 mm), portrait; margins top and bottom 20–25 mm,
  left 30–35 mm, right 15–20 mm; Times New Roman, Unicode (TCVN 6909:2001), black.
- Mục I.6: page numbers in Arabic figures, 13–14 pt, upright, centred in the
  top margin, not shown on the first page.
- Mục V (the table of sizes, case and weight), as used here:
  quốc hiệu upper case 12–13 bold; tiêu ngữ 13–14 bold, a full line under it;
  the body above upper case 12–13 upright, the issuing body upper case 12–13
  bold, a line of 1/3–1/2 its length under it; "Số:" 13 upright; place and
  date 13–14 italic; the type (GIẤY MỜI) upper case 13–14 bold and the trích
  yếu 13–14 bold, a short line under; the body 13–14 upright, justified,
  first line indented 1–1.27 cm, at least 6 pt between paragraphs; the signer's
  quyền hạn and chức vụ upper case 13–14 bold, the name 13–14 bold;
  "Nơi nhận:" 12 bold italic, its list 11 upright; "Phụ lục" 14 bold.

The figures chosen inside each range are the constants below (tests/documents
hold the output to them). Every text a meeting gives comes in through a
docxtpl tag (documents.letter.letter_context names them all), so an office's
own template may word and place things its way with the same tags.
"""

import sys
import unicodedata
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "giay_moi_mau.docx"

FONT = "Times New Roman"
PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
#: Phụ lục I, Mục I.3: within 20–25, 20–25, 30–35 and 15–20 mm
MARGIN_TOP_MM, MARGIN_BOTTOM_MM, MARGIN_LEFT_MM, MARGIN_RIGHT_MM = 20, 20, 30, 15
#: Phụ lục I, Mục V: the size of each part, in points, inside the range it gives
SIZE_NATIONAL_TITLE = 12   # quốc hiệu, 12–13 (12 keeps it on one line in its half of the page)
SIZE_MOTTO = 13            # tiêu ngữ, 13–14
SIZE_BODY_NAME = 13        # cơ quan chủ quản and cơ quan ban hành, 12–13
SIZE_NUMBER = 13           # "Số: …", 13
SIZE_DATE = 14             # địa danh, ngày tháng, 13–14
SIZE_TITLE = 14            # GIẤY MỜI and the trích yếu, 13–14
SIZE_TEXT = 14             # the body, 13–14
SIZE_SIGNER = 14           # quyền hạn, chức vụ, họ tên, 13–14
SIZE_RECIPIENTS_HEAD = 12  # "Nơi nhận:", 12
SIZE_RECIPIENTS = 11       # its list, 11
SIZE_PAGE_NUMBER = 14      # 13–14
FIRST_LINE_INDENT_MM = 10  # 1 cm (1–1.27 cm)
PARAGRAPH_SPACE_PT = 6     # at least 6 pt
#: the header's two cells: the issuing body (ô 2, 3) and the quốc hiệu with the date (ô 1, 4)
LEFT_CELL_MM, RIGHT_CELL_MM = 62, 103


def _nfc(text):
    return unicodedata.normalize("NFC", text)


def _font(run, size, bold=False, italic=False):
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    return run


def _paragraph(container, text="", size=SIZE_TEXT, *, bold=False, italic=False, align=None, indent=False,
               after=PARAGRAPH_SPACE_PT, before=0, keep_with_next=False):
    paragraph = container.add_paragraph()
    if text:
        _font(paragraph.add_run(_nfc(text)), size, bold, italic)
    fmt = paragraph.paragraph_format
    fmt.alignment = align if align is not None else WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.space_after, fmt.space_before = Pt(after), Pt(before)
    fmt.line_spacing = 1.0
    fmt.first_line_indent = Mm(FIRST_LINE_INDENT_MM) if indent else Mm(0)
    fmt.keep_with_next = keep_with_next
    _paragraph_font(paragraph, size)
    return paragraph


def _paragraph_font(paragraph, size):
    """The paragraph mark's own font: an empty paragraph (a rule, a loop tag's) keeps the size."""
    rpr = paragraph._p.get_or_add_pPr().find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        paragraph._p.get_or_add_pPr().append(rpr)
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    rpr.append(fonts)
    for tag in ("w:sz", "w:szCs"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(size * 2))
        rpr.append(element)


def _tag(container, tag):
    """A paragraph holding only a docxtpl paragraph tag ({%p … %}): docxtpl removes it when rendering."""
    return _paragraph(container, tag, SIZE_TEXT, after=0)


def _rule(container, cell_mm, rule_mm):
    """A centred line rule_mm long in a cell cell_mm wide: the bottom border of an empty, indented paragraph."""
    paragraph = _paragraph(container, "", 2, align=WD_ALIGN_PARAGRAPH.CENTER, before=2, after=0)
    side = max((cell_mm - rule_mm) / 2 - 2, 0)  # the cell's own 1.9 mm padding each side
    paragraph.paragraph_format.left_indent = Mm(side)
    paragraph.paragraph_format.right_indent = Mm(side)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"), ("w:color", "000000")):
        bottom.set(qn(name), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    return paragraph


def _borderless(table):
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _two_cells(document, left_mm, right_mm):
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _borderless(table)
    row_properties = table.rows[0]._tr.get_or_add_trPr()
    row_properties.append(OxmlElement("w:cantSplit"))  # the signer's block and Nơi nhận stay on one page
    left, right = table.rows[0].cells
    left.width, right.width = Mm(left_mm), Mm(right_mm)
    for column, width in zip(table.columns, (left_mm, right_mm)):
        column.width = Mm(width)
    # a new cell holds one empty paragraph: use it as the first line
    return table, left, right


def _first(cell, text, size, **kwargs):
    """Write the cell's first (existing) paragraph."""
    paragraph = cell.paragraphs[0]
    _font(paragraph.add_run(_nfc(text)), size, kwargs.get("bold", False), kwargs.get("italic", False))
    paragraph.paragraph_format.alignment = kwargs.get("align", WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.space_after = Pt(0)
    _paragraph_font(paragraph, size)
    return paragraph


def _page_number_header(section):
    """Page numbers centred in the top margin from page 2 (Phụ lục I, Mục I.6): the first page's header is empty."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = _font(paragraph.add_run(), SIZE_PAGE_NUMBER)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text.strip() == "PAGE":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)
    section.first_page_header.is_linked_to_previous = False


def build_template():
    """Return the default template as a python-docx Document (save it to a path or a stream)."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP_MM), Mm(MARGIN_BOTTOM_MM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT_MM), Mm(MARGIN_RIGHT_MM)
    section.header_distance = Mm(10)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(SIZE_TEXT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    document.core_properties.title = "Giấy mời"
    document.core_properties.language = "vi-VN"
    _page_number_header(section)

    # ô 2–3 and ô 1, 4: the issuing body and its number beside the quốc hiệu, tiêu ngữ, place and date
    _table, left, right = _two_cells(document, LEFT_CELL_MM, RIGHT_CELL_MM)
    _first(left, "{{ parent_body|upper }}", SIZE_BODY_NAME)
    paragraph = _paragraph(left, "{{ issuing_body|upper }}", SIZE_BODY_NAME, bold=True,
                           align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(left, LEFT_CELL_MM, LEFT_CELL_MM * 0.4)
    _paragraph(left, "Số: {{ number }}/GM-{{ notation }}", SIZE_NUMBER, align=WD_ALIGN_PARAGRAPH.CENTER,
               before=4, after=0)
    _first(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", SIZE_NATIONAL_TITLE, bold=True)
    _paragraph(right, "Độc lập - Tự do - Hạnh phúc", SIZE_MOTTO, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               after=0)
    _rule(right, RIGHT_CELL_MM, 62)
    _paragraph(right, "{{ place_date }}", SIZE_DATE, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=4, after=0)
    del paragraph

    # tên loại and trích yếu
    _paragraph(document, "GIẤY MỜI", SIZE_TITLE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0)
    _paragraph(document, "{{ summary }}", SIZE_TITLE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _rule(document, 165, 50)

    # the body: the content QĐ 45/2018/QĐ-TTg asks of a meeting's invitation, in its order
    _tag(document, "{%p if basis_line %}")
    _paragraph(document, "{{ basis_line }}", indent=True, before=6)
    _tag(document, "{%p endif %}")
    _paragraph(document, "{{ inviter }} trân trọng kính mời:", indent=True)
    _paragraph(document, "1. Thành phần", bold=True, indent=True, keep_with_next=True)
    _paragraph(document, "- Chủ trì: {{ chair_person }}.", indent=True)
    _tag(document, "{%p for line in attendees %}")
    _paragraph(document, "- {{ line.where }}: {{ line.who }}", indent=True)
    _tag(document, "{%p endfor %}")
    _paragraph(document, "2. Nội dung", bold=True, indent=True, keep_with_next=True)
    _tag(document, "{%p for line in agenda %}")
    _paragraph(document, "{{ line }}", indent=True)
    _tag(document, "{%p endfor %}")
    _paragraph(document, "3. Thời gian", bold=True, indent=True, keep_with_next=True)
    _paragraph(document, "- {{ time_text }}.", indent=True)
    _paragraph(document, "4. Địa điểm", bold=True, indent=True, keep_with_next=True)
    _tag(document, "{%p for line in places %}")
    _paragraph(document, "- {{ line }}", indent=True)
    _tag(document, "{%p endfor %}")
    _paragraph(document, "5. Tổ chức thực hiện", bold=True, indent=True, keep_with_next=True)
    _tag(document, "{%p for line in duties %}")
    _paragraph(document, "- {{ line }}", indent=True)
    _tag(document, "{%p endfor %}")
    _paragraph(document, "- Liên hệ kỹ thuật: {{ technical_contact }}.", indent=True)
    _paragraph(document, "Rất mong các đồng chí tham dự đúng thành phần, thời gian./.", indent=True)

    # ô 9a (Nơi nhận) beside ô 7 (the signer's block)
    _table, left, right = _two_cells(document, 80, 85)
    _first(left, "Nơi nhận:", SIZE_RECIPIENTS_HEAD, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _tag(left, "{%p for line in recipients %}")
    _paragraph(left, "{{ line }}", SIZE_RECIPIENTS, align=WD_ALIGN_PARAGRAPH.LEFT, after=0)
    _tag(left, "{%p endfor %}")
    _first(right, "{{ signer_authority|upper }}", SIZE_SIGNER, bold=True)
    _paragraph(right, "{{ signer_title|upper }}", SIZE_SIGNER, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    for _ in range(4):  # room for the signature and the seal
        _paragraph(right, "", SIZE_SIGNER, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(right, "{{ signer_name }}", SIZE_SIGNER, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)

    # the annex: every site, by district (Phụ lục I, Mục III.1: "Phụ lục" and its number, its title upper case bold)
    page_break = _paragraph(document, "", SIZE_TEXT, after=0)
    page_break.add_run().add_break(WD_BREAK.PAGE)
    _paragraph(document, "Phụ lục", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _paragraph(document, "DANH SÁCH ĐIỂM CẦU DỰ HỌP", SIZE_TITLE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
               after=0)
    _paragraph(document, "(Kèm theo Giấy mời số {{ number }}/GM-{{ notation }} {{ annex_date }} của "
               "{{ issuing_body }})", SIZE_TEXT, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _rule(document, 165, 50)
    _paragraph(document, "Tổng số: {{ site_count }} điểm cầu.", indent=True, before=6)
    _tag(document, "{%p for group in annex %}")
    _paragraph(document, "{{ group.number }}. {{ group.name }} ({{ group.count }} điểm cầu)", bold=True,
               keep_with_next=True, before=6, after=3)
    _tag(document, "{%p for site in group.sites %}")
    _paragraph(document, "{{ site.number }}. {{ site.label }}", after=0, align=WD_ALIGN_PARAGRAPH.LEFT)
    _tag(document, "{%p endfor %}")
    _tag(document, "{%p endfor %}")
    return document


def main(argv=None):
    """Write the default template to argv[0] (default: DEFAULT_TEMPLATE)."""
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else DEFAULT_TEMPLATE
    build_template().save(target)
    print(target)


if __name__ == "__main__":
    main()
