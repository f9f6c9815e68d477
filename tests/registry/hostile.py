"""Workbooks written by hand, part by part, the way an attacker (or a careless generator) writes them."""

import io
import zipfile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def raw_xlsx(sheet_rows, *, dimension=None, shared_strings=None, strings_prolog=b"", extra_sheet_xml=b""):
    """Return the bytes of a one-sheet workbook whose sheet XML holds `sheet_rows` (bytes of <row> elements).

    `shared_strings` (bytes of <si> elements) adds a shared-strings part, with
    `strings_prolog` (a DOCTYPE, say) before its root element.
    """
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode() + dim
             + b"<sheetData>" + sheet_rows + b"</sheetData>" + extra_sheet_xml + b"</worksheet>")
    types = (f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             f'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             f'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
             f'"{SHEET_TYPE}"/>' + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{STRINGS_TYPE}"/>'
                                     if shared_strings is not None else "") + "</Types>")
    rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                f'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}"><Relationship '
                     f'Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                     + (f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                        if shared_strings is not None else "") + "</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8"?>' + strings_prolog
                             + f'<sst xmlns="{MAIN}">'.encode() + shared_strings + b"</sst>")
    return out.getvalue()


def inline_row(number, values):
    """Return a <row> of inline-string cells from column A on."""
    from openpyxl.utils import get_column_letter

    cells = b"".join(f'<c r="{get_column_letter(i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>'.encode()
                     for i, v in enumerate(values, start=1))
    return f'<row r="{number}">'.encode() + cells + b"</row>"


HEADER = inline_row(1, ["code", "name", "unit_id"])


#: "a billion laughs": ten entities each ten times the one before, a gigabyte from a few hundred bytes
ENTITY_BOMB = ("<!DOCTYPE sst [<!ENTITY a0 \"ha\">" + "".join(
    f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10)) + "]>").encode()
