"""Spreadsheet files in and out: CSV that no spreadsheet program runs, XLSX read within limits.

Every CSV the app writes goes through `csv_bytes`, which neutralises text a
spreadsheet program would take for a formula (OWASP, "CSV Injection": a cell
that starts with = + - @, a tab or a carriage return gets a leading
apostrophe); `restore` takes that apostrophe off again on import, so an
export read back keeps the original text.

`xlsx_rows` reads an uploaded workbook with openpyxl in read-only mode after
checking the zip's declared sizes (Python's zipfile never inflates a member
past its declared size), so a small file that unpacks to gigabytes, or whose
sheet declares millions of cells, is refused before its XML is parsed, and
rows are streamed rather than held. `cell_text` turns a cell into the text a
person saw in Excel, or says why it cannot (a formula never calculated, a
date where text was expected, a number that lost its leading zero).
"""

import csv
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import openpyxl
from defusedxml.ElementTree import fromstring as defused_fromstring
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from vmeeting.core.errors import ValidationError
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import to_local

#: what makes Excel, LibreOffice and Google Sheets read a CSV cell as a formula (OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")
_FORMULA_AFTER_QUOTES = re.compile(r"^'*[=+\-@\t\r]")


def neutralise(value):
    """Return a CSV cell value that no spreadsheet program evaluates.

    Text starting with a formula character (after any apostrophes) gets one
    more leading apostrophe; numbers and other text pass unchanged.
    """
    if isinstance(value, str) and _FORMULA_AFTER_QUOTES.match(value):
        return "'" + value
    return value


def restore(text):
    """Undo `neutralise`: drop the apostrophe it put before a formula character."""
    if _QUOTED_FORMULA.match(text):
        return text[1:]
    return text


def csv_bytes(header, rows):
    """Return a CSV file as bytes: UTF-8 with a BOM (so Excel shows Vietnamese), CRLF, formulas neutralised."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return out.getvalue().encode("utf-8-sig")


# -- writing XLSX ------------------------------------------------------------------------


@dataclass
class Sheet:
    """One worksheet to write: a bold caption line, a bold header row, the rows; widths in characters; `formats`
    a column's number format ("hh:mm"), None for its values' type's (DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT)."""

    title: str
    header: list
    rows: list
    caption: str = ""
    widths: tuple = ()
    formats: tuple = ()


#: how a typed date, instant or time shows, as the pages write them (dd/mm/yyyy, 24-hour)
DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT = "dd/mm/yyyy", "dd/mm/yyyy hh:mm", "hh:mm"


def _typed(value):
    """Return (value openpyxl can store, its default number format or None); an aware instant becomes local
    wall-clock time: a cell keeps no zone (ECMA-376 Part 1, §18.17.4: a date is a serial number of days)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = to_local(value).replace(tzinfo=None)
        return value, DATETIME_FORMAT
    if isinstance(value, date):
        return value, DATE_FORMAT
    if isinstance(value, time):
        return value.replace(tzinfo=None), TIME_FORMAT
    return value, None


#: the MIME type of an .xlsx download
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(sheets):
    """Return a workbook of `sheets` (Sheet) as bytes.

    Text is always written as text: openpyxl would store "=…" as a formula
    (CSV injection's twin), so every str cell is typed "s" explicitly.
    Control characters XML 1.0 cannot carry (a search typed with one lands in
    the caption) are dropped, not refused: openpyxl raises on them.
    Numbers and None pass as they are; dates, instants (aware ones in local
    time) and times are typed cells with a number format (`_typed`,
    Sheet.formats), so a spreadsheet sorts and filters them as dates, not as
    text. The header row is frozen.
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])  # Excel's limit for a sheet name
        lines = ([[spec.caption]] if spec.caption else []) + [list(spec.header)]
        for number, row in enumerate([*lines, *spec.rows], start=1):
            for column, value in enumerate(row, start=1):
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                value, number_format = _typed(value)
                cell = sheet.cell(row=number, column=column, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                elif number_format is not None:
                    given = spec.formats[column - 1] if column <= len(spec.formats) else None
                    cell.number_format = given or number_format
                if number <= len(lines):
                    cell.font = bold
        sheet.freeze_panes = sheet.cell(row=len(lines) + 1, column=1)
        for column, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading XLSX within limits ---------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How much of an uploaded workbook is read before it is refused."""

    #: data rows that are not blank
    rows: int = 20000
    #: the last row read, blank rows included; a file reaching below it is refused
    last_row: int = 21000
    #: columns read from each row; the sheet may not declare more
    columns: int = 60
    #: characters in one cell
    cell_chars: int = 10000
    #: all the zip's members together, unpacked
    unpacked_bytes: int = 64 * 1024 * 1024
    #: the shared-strings part, unpacked, and its strings (openpyxl keeps each one, and its XML
    #: element, in memory: about 250 bytes a string however short)
    shared_strings_bytes: int = 16 * 1024 * 1024
    shared_strings: int = 200000
    #: every other part but the worksheets (styles, workbook, relations), unpacked
    part_bytes: int = 4 * 1024 * 1024
    #: members of the zip
    members: int = 2000


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s/>]")
_STRING_TAG = re.compile(rb"<(?:\w+:)?si[\s/>]")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s/>]")
_MB = 1024 * 1024


def _refuse(message):
    raise ValidationError({"file": message})


def _check_zip(data, limits):
    """Check the declared sizes of the zip's members; return True when a worksheet holds a formula."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        _refuse(N_("Không đọc được tệp Excel (.xlsx); tệp có thể bị hỏng."))
    with archive:
        members = archive.infolist()
        if len(members) > limits.members:
            _refuse(say("Tệp Excel có %(count)s thành phần; chỉ nhận tối đa %(limit)s.",
                        count=len(members), limit=limits.members))
        total = sum(m.file_size for m in members)
        if total > limits.unpacked_bytes:
            _refuse(say("Tệp Excel khi giải nén lớn %(mb)s MB; chỉ nhận tối đa %(limit)s MB. Hãy chia tệp nhỏ hơn.",
                        mb=total // _MB, limit=limits.unpacked_bytes // _MB))
        has_formula = False
        for member in members:
            name = member.filename.lower()
            if name.endswith("sharedstrings.xml"):
                if member.file_size > limits.shared_strings_bytes:
                    _refuse(say("Bảng chuỗi dùng chung của tệp Excel lớn %(mb)s MB;"
                                " chỉ nhận tối đa %(limit)s MB. Hãy chia tệp nhỏ hơn.",
                                mb=member.file_size // _MB, limit=limits.shared_strings_bytes // _MB))
                strings = _count_tags(archive, member, _STRING_TAG, stop_after=limits.shared_strings)
                if strings > limits.shared_strings:
                    _refuse(say("Tệp Excel có hơn %(limit)s chuỗi văn bản khác nhau; hãy chia tệp nhỏ hơn.",
                                limit=limits.shared_strings))
            elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                has_formula = has_formula or _count_tags(archive, member, _FORMULA_TAG, stop_after=0) > 0
            elif member.file_size > limits.part_bytes and not name.startswith(("xl/media/", "xl/drawings/")):
                _refuse(say("Phần «%(part)s» của tệp Excel lớn %(mb)s MB; chỉ nhận tối đa %(limit)s MB.",
                            part=member.filename, mb=member.file_size // _MB, limit=limits.part_bytes // _MB))
    return has_formula


def _count_tags(archive, member, tag, stop_after):
    """Count the tags of a member's XML, reading it in pieces; stop once past `stop_after`."""
    found, tail = 0, b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(1024 * 1024):
                piece = tail + chunk
                # A tag cut in two at the end of this piece is counted with the next one.
                cut = piece.rfind(b"<", max(0, len(piece) - 16))
                cut = len(piece) if cut == -1 else cut
                found += len(tag.findall(piece, 0, cut))
                if found > stop_after:
                    return found
                tail = piece[cut:]
            found += len(tag.findall(tail))
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error):
        _refuse(N_("Không đọc được tệp Excel (.xlsx); tệp có thể bị hỏng."))
    return found


@dataclass(frozen=True)
class Cell:
    """One cell as Excel holds it: value, number format, and whether it is a formula never calculated."""

    value: object = None
    number_format: str = "General"
    is_uncalculated: bool = False
    is_error: bool = False
    coordinate: str = ""


EMPTY = Cell()


def xlsx_rows(data, limits=Limits()):
    """Yield (row number, [Cell]) for the rows of a workbook's first sheet, at most `limits.columns` wide.

    Raise ValidationError on the "file" field when the file is damaged or too
    large; a sheet that declares more rows or columns than the limits is
    refused before any row is read.
    """
    has_formula = _check_zip(data, limits)
    books = []
    try:
        try:
            books.append(openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False))
            if has_formula:
                # The values come from the first book; only the second one tells a formula from an empty cell.
                books.append(openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                                                    keep_links=False))
            sheets = [book.worksheets[0] for book in books]
        except ValidationError:
            raise
        except Exception:  # openpyxl raises a dozen kinds (zip, XML, key errors) for a damaged file
            _refuse(N_("Không đọc được tệp Excel (.xlsx); tệp có thể bị hỏng."))
        _check_declared_size(sheets[0], limits)
        _check_row_count(data, limits)
        for sheet in sheets:
            sheet.reset_dimensions()  # read what is there, never pad rows to a declared size
        try:
            streams = [sheet.iter_rows(max_col=limits.columns) for sheet in sheets]
            for number, rows in enumerate(zip(*streams), start=1):
                if number > limits.last_row:
                    _refuse_rows(number, limits)
                yield number, [_cell(values, rows[1][i] if len(rows) > 1 else None, limits)
                               for i, values in enumerate(rows[0])]
        except ValidationError:
            raise
        except Exception:  # as above: a damaged sheet fails while its rows are read
            _refuse(N_("Không đọc được trang tính đầu tiên của tệp Excel."))
    finally:
        for book in books:
            book.close()


def _check_declared_size(sheet, limits):
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if columns > limits.columns:
        _refuse(say("Trang tính đầu tiên có ô tới cột %(letter)s (cột thứ %(columns)s);"
                    " chỉ nhận tối đa %(limit)s cột. Hãy xoá các cột thừa ở bên phải rồi lưu lại.",
                    letter=get_column_letter(columns), columns=columns, limit=limits.columns))
    if rows > limits.last_row:
        _refuse_rows(rows, limits)


def _check_row_count(data, limits):
    """Refuse a sheet with more row elements than limits.last_row, counted in its XML before any is parsed.

    A sheet saved without its dimension (or with a false one) is otherwise
    found too long only after openpyxl has read 21,000 rows: seconds of work.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        path = _first_worksheet_path(archive)
        if path is None:
            return
        rows = _count_tags(archive, archive.getinfo(path), _ROW_TAG, stop_after=limits.last_row)
    if rows > limits.last_row:
        _refuse(say("Trang tính có hơn %(last_row)s dòng; chỉ đọc tới dòng %(last_row)s (%(rows)s dòng dữ liệu)."
                    " Hãy xoá các dòng thừa ở cuối, hoặc chia tệp nhỏ hơn.",
                    last_row=limits.last_row, rows=limits.rows))


#: the content types of a workbook's main part, in the order openpyxl looks for them (template, macro-enabled…)
_WORKBOOK_TYPES = ("application/vnd.ms-excel.template.macroEnabled.main+xml",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
                   "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")


def _first_worksheet_path(archive):
    """Return the zip member of the sheet openpyxl reads as `worksheets[0]`, or None when the parts do not say.

    Read from the package's own parts as openpyxl reads them (ECMA-376 Part 2,
    Open Packaging Conventions): [Content_Types].xml names the workbook part
    (xl/workbook.xml when only a default type does); its relationships part
    (xl/_rels/workbook.xml.rels) gives each sheet's part, relative to the
    workbook's folder unless it starts with "/"; the workbook lists the sheets
    in order, and the first whose part is in the zip and is not a chartsheet
    is the first worksheet. The XML goes through defusedxml, as openpyxl's does.
    """
    try:
        types = _parse(archive, "[Content_Types].xml")
        overrides = [(node.get("ContentType"), node.get("PartName") or "") for node in types
                     if _local(node.tag) == "Override"]
        defaults = {node.get("ContentType") for node in types if _local(node.tag) == "Default"}
        workbook = next((name.lstrip("/") for kind in _WORKBOOK_TYPES for content, name in overrides
                         if content == kind), None)
        if workbook is None and defaults & set(_WORKBOOK_TYPES):
            workbook = "xl/workbook.xml"
        if workbook is None:
            return None
        folder, name = posixpath.split(workbook)
        targets = {}
        for rel in _parse(archive, posixpath.join(folder, "_rels", name + ".rels")):
            target = rel.get("Target") or ""
            if rel.get("TargetMode") != "External" and "chartsheet" not in (rel.get("Type") or ""):
                targets[rel.get("Id")] = (target[1:] if target.startswith("/")
                                          else posixpath.normpath(posixpath.join(folder, target)))
        members = set(archive.namelist())
        for sheet in _parse(archive, workbook).iter():
            if _local(sheet.tag) != "sheet":
                continue
            rel_id = next((value for key, value in sheet.attrib.items() if key.endswith("}id")), None)
            # chartsheets are not among the targets; a sheet whose part is missing, openpyxl skips too
            if targets.get(rel_id) in members:
                return targets[rel_id]
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error):
        return None  # parts openpyxl has just read without fault; the rows are still bounded as they are read
    return None


def _parse(archive, member):
    """Parse an XML member of the zip through defusedxml (no entities, no external references)."""
    return defused_fromstring(archive.read(member))


def _local(tag):
    """An XML tag without its namespace: {http://…/main}sheet → sheet."""
    return tag.rsplit("}", 1)[-1]


def _refuse_rows(number, limits):
    _refuse(say("Trang tính có dòng %(line)s; chỉ đọc tới dòng %(last_row)s (%(rows)s dòng dữ liệu)."
                " Hãy xoá các dòng thừa ở cuối, hoặc chia tệp nhỏ hơn.", line=number, last_row=limits.last_row,
                rows=limits.rows))


def _cell(value_cell, formula_cell, limits):
    value = getattr(value_cell, "value", None)
    if isinstance(value, str) and len(value) > limits.cell_chars:
        _refuse(say("Ô %(cell)s dài %(length)s ký tự; mỗi ô tối đa %(limit)s ký tự.",
                    cell=value_cell.coordinate, length=len(value), limit=limits.cell_chars))
    if value is None and getattr(formula_cell, "data_type", None) != "f":
        return EMPTY
    return Cell(
        value=value,
        number_format=getattr(value_cell, "number_format", None) or "General",
        is_uncalculated=value is None and getattr(formula_cell, "data_type", None) == "f",
        is_error=getattr(value_cell, "data_type", None) == "e",
        coordinate=getattr(value_cell, "coordinate", "") or getattr(formula_cell, "coordinate", ""),
    )


# -- a cell as text ----------------------------------------------------------------------


class CellError(ValueError):
    """A cell whose text cannot be known for sure; the message (args[0]) says why in Vietnamese, an N_ literal or a
    `say` sentence (vmeeting.core.text) that a page shows in its reader's language."""


#: Excel keeps 15 significant digits; a longer number was rounded when it was typed
_EXACT_DIGITS = 15
_PLAIN_FORMATS = {"general", "0", "@", "text"}


def cell_text(cell, *, digits_are_text=False):
    """Return the text a person saw in the cell, or raise CellError saying why it is unknown.

    A number is shown through its number format when that format only pads
    digits ("0000000000" shows 912345678 as 0912345678). With
    `digits_are_text` (phone numbers), a number whose format would not have
    kept a leading zero is refused: the zero is already lost.
    """
    if not isinstance(cell, Cell):
        return "" if cell is None else str(cell)
    if cell.is_uncalculated:
        raise CellError(N_("Ô chứa công thức Excel chưa tính (không có giá trị lưu kèm). Hãy mở tệp bằng Excel"
                           " rồi lưu lại, hoặc dán giá trị (Paste Values) thay cho công thức."))
    value = cell.value
    if cell.is_error:
        raise CellError(say("Ô chứa lỗi công thức %(error)s.", error=value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (datetime, date, time, timedelta)):
        shown = value.strftime("%d/%m/%Y") if isinstance(value, (datetime, date)) else str(value)
        raise CellError(say("Ô là ngày/giờ (%(value)s) trong cột văn bản: Excel đã tự đổi giá trị gõ vào thành ngày."
                            " Hãy định dạng ô là Văn bản (Text) rồi gõ lại.", value=shown))
    if isinstance(value, (int, float)):
        return _number_text(value, cell.number_format, digits_are_text)
    return str(value)


def _number_text(value, number_format, digits_are_text):
    if isinstance(value, float) and not value.is_integer():
        if digits_are_text:
            raise CellError(say("Ô là số (%(value)s), không phải văn bản."
                                " Hãy định dạng ô là Văn bản (Text) rồi gõ lại.", value=value))
        return repr(value)
    number = int(value)
    if len(str(abs(number))) > _EXACT_DIGITS:
        raise CellError(say("Số %(value)s dài quá %(digits)s chữ số nên Excel đã làm tròn."
                            " Hãy định dạng ô là Văn bản (Text) rồi gõ lại.", value=number, digits=_EXACT_DIGITS))
    shown = padded_digits(number, number_format)
    if digits_are_text and (shown is None or not shown.startswith("0")):
        raise CellError(say("Ô là số (%(value)s) nên Excel đã bỏ số 0 ở đầu. Hãy định dạng ô là Văn bản (Text)"
                            " rồi gõ lại số điện thoại, hoặc gõ dấu nháy (') trước số.", value=number))
    return str(number) if shown is None else shown


#: quoted text, an escaped character, a digit placeholder, or a character Excel shows as it is
_FORMAT_TOKEN = re.compile(r'"[^"]*"|\\.|[0#]|[ \-()+]')


def padded_digits(number, number_format):
    """Return a whole number as a digits-only number format shows it, or None for other formats.

    Handles the formats offices use to keep leading zeros: "0000000000",
    `0000" "000" "000`, `"0"#########`. Only the format's first section (for
    positive numbers) is read; a negative number is not padded.
    """
    section = number_format.split(";")[0]
    if number_format.lower() in _PLAIN_FORMATS:
        return str(number)
    tokens = _FORMAT_TOKEN.findall(section)
    if number < 0 or "".join(tokens) != section or not any(t in ("0", "#") for t in tokens):
        return None
    digits = list(str(number))
    out = []
    for token in reversed(tokens):
        if token in ("0", "#"):
            out.append(digits.pop() if digits else ("0" if token == "0" else ""))
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1])
        else:
            out.append(token)
    # Digits beyond the placeholders go in front of the first one, as Excel shows them.
    first = len(tokens) - 1 - next(i for i, t in enumerate(tokens) if t in ("0", "#"))
    out[first] = "".join(digits) + out[first]
    return "".join(reversed(out))
