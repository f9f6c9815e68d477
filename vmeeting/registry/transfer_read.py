"""Reading an endpoint file: the rows of a CSV or XLSX upload as text, within limits.

The file's size, rows, columns and cells are bounded (LIMITS, and
`spreadsheet.xlsx_rows` for the zip inside an XLSX) before anything large is
built; the header may be in Vietnamese (registry.columns); a cell whose text
cannot be known (a formula never calculated, a date in a text column, a phone
number Excel turned into a number) is kept as an error of its row and column,
for the preview to show beside the other reasons. Every reason is Vietnamese,
an N_ literal or a `say` sentence (vmeeting.core.text), which the preview page
shows in its reader's language.
"""

import contextlib
import csv
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from vmeeting.core import spreadsheet
from vmeeting.core.errors import ValidationError
from vmeeting.registry import columns
from vmeeting.registry.columns import HEADERS
from vmeeting.core.text import N_, clean, say

EXTENSIONS = (".csv", ".xlsx")
#: the largest file read, by the page and the CLI alike (the page's request limit is MAX_CONTENT_LENGTH)
MAX_FILE_BYTES = 10 * 1024 * 1024
#: rows, columns, cell length and unpacked size read from a file (spreadsheet.Limits)
LIMITS = spreadsheet.Limits(rows=20000, last_row=21000, columns=60, cell_chars=10000)
MAX_LINE_CHARS = 64 * 1024
_LONG_LINE = re.compile(r"(?m)^[^\n]{%d}" % (MAX_LINE_CHARS + 1))
#: rows below a title in which the column names are looked for, to say where the header is
HEADER_SEARCH_ROWS = 10
ROW_KEY = "_row"
ERRORS_KEY = "_errors"


@dataclass
class ImportFile:
    """What was read from a file: its data rows, and the columns set aside."""

    #: dicts keyed by column (see `read_rows`)
    rows: list
    #: [(column letter, header text)] of the columns the import does not know ("STT", an office's own
    #: notes): their cells are not read, and the preview says so rather than refuse the file
    set_aside: list = field(default_factory=list)

    def note(self):
        """Return the Vietnamese sentence telling which columns were set aside, or "" when none was."""
        if not self.set_aside:
            return ""
        return say("Các cột sau không thuộc danh mục điểm cầu nên không được nhập: %(columns)s.",
                   columns=", ".join(f"«{text}» ({letter})" for letter, text in self.set_aside))


def read_rows(filename, stream):
    """Return the data rows of a CSV or XLSX file as dicts keyed by column (`read_file(...).rows`)."""
    return read_file(filename, stream).rows


def read_file(filename, stream):
    """Return an ImportFile: the data rows of a CSV or XLSX file as dicts keyed by column, and the columns set aside.

    A column whose header names none of the registry's (a row number "STT",
    a column of the office's own) is set aside: its cells are not read and
    `ImportFile.set_aside` names it for the preview. Each dict also holds "_row", the row's number in the sheet (the header is
    row 1), so errors point at the line a person sees, and "_errors" for the
    cells whose text could not be read ({column: reason}). Blank rows are
    skipped. Raise ValidationError on the "file" field when the file cannot be
    used: its kind, its size (MAX_FILE_BYTES, LIMITS), its header.
    """
    name = clean(filename).lower()
    if not name.endswith(EXTENSIONS):
        raise ValidationError({"file": N_("Chỉ nhận tệp .csv hoặc .xlsx.")})
    data = stream if isinstance(stream, bytes) else stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": say("Tệp lớn hơn %(mb)s MB; hãy chia nhỏ.", mb=MAX_FILE_BYTES // 2**20)})
    records = _csv_records(data) if name.endswith(".csv") else spreadsheet.xlsx_rows(data, LIMITS)
    with contextlib.closing(records):  # a refusal midway closes the workbook at once
        positions, set_aside = _check_header(*_find_header(records))
        known = {i for i, _column in positions} | {i for i, _text in set_aside}
        rows = _data_rows(records, positions, known)
    return ImportFile(rows, [(get_column_letter(i + 1), text) for i, text in set_aside])


def _data_rows(records, positions, known):
    rows = []
    for number, cells in records:
        row, errors = {}, {}
        for i, column in positions:
            try:
                row[column] = _cell_text(column, cells[i] if i < len(cells) else None)
            except spreadsheet.CellError as exc:
                row[column], errors[column] = "", exc.args[0]  # a say() sentence, for the page to translate
        stray = _stray_cell(cells, known)
        if stray is not None:
            errors[stray[0]] = stray[1]
        if not any(row.values()) and not errors:
            continue
        row[ROW_KEY] = number
        if errors:
            row[ERRORS_KEY] = errors
        rows.append(row)
        if len(rows) > LIMITS.rows:
            raise ValidationError({"file": say("Tệp có quá %(rows)s dòng; hãy chia nhỏ.", rows=LIMITS.rows)})
    if not rows:
        raise ValidationError({"file": N_("Tệp không có dòng dữ liệu nào dưới dòng tiêu đề.")})
    return rows


def _stray_cell(cells, known):
    """Return (column letter, reason) for the first filled cell under no header text at all, or None.

    In a CSV file this is nearly always a comma inside a name that was not put
    in quotes, which shifts every later cell of the row one column right: the
    row is refused rather than stored with its values in the wrong columns.
    """
    for i, cell in enumerate(cells):
        if i in known:
            continue
        text = _header_text(cell)
        if text:
            return (get_column_letter(i + 1), say("Ô «%(text)s» nằm ngoài các cột của dòng tiêu đề. Có lẽ một dấu"
                                                  " phẩy trong tên hay ghi chú chưa được đặt trong ngoặc kép, làm"
                                                  " các ô sau nó lệch sang phải; hãy sửa dòng này.", text=text[:40]))
    return None


def _csv_records(data):
    """Yield (line number, [text]) for the records of a CSV file, within LIMITS."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": N_("Tệp CSV phải mã hoá UTF-8 (trong Excel: Lưu thành «CSV UTF-8»).")}) from None
    # A line of a million separators would become a million cells before any check could see it.
    long_line = _LONG_LINE.search(text)
    if long_line:
        number = text.count("\n", 0, long_line.start()) + 1
        raise ValidationError({"file": say("Dòng %(line)s của tệp CSV dài quá %(limit)s ký tự.",
                                           line=number, limit=MAX_LINE_CHARS)})
    first_line = text.lstrip("\r\n").split("\n", 1)[0].strip()
    # Excel set to Vietnamese separates with ";" because "," is the decimal mark there.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    skip = 0
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        delimiter, skip = first_line[4], 1  # Excel's own hint line names the separator
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            if number <= skip:
                continue
            if number > LIMITS.last_row:
                raise ValidationError({"file": say("Tệp CSV có hơn %(last_row)s dòng (kể cả dòng trống);"
                                                   " chỉ nhận tối đa %(rows)s dòng dữ liệu. Hãy chia nhỏ.",
                                                   last_row=LIMITS.last_row, rows=LIMITS.rows)})
            if len(cells) > LIMITS.columns:
                raise ValidationError({"file": say("Dòng %(line)s có %(count)s cột; tối đa %(limit)s cột.",
                                                   line=number, count=len(cells), limit=LIMITS.columns)})
            for cell in cells:
                if len(cell) > LIMITS.cell_chars:
                    raise ValidationError({"file": say("Dòng %(line)s có ô dài %(length)s ký tự;"
                                                       " mỗi ô tối đa %(limit)s ký tự.",
                                                       line=number, length=len(cell), limit=LIMITS.cell_chars)})
            yield number, cells
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ValidationError({"file": say("Tệp CSV có ô dài quá %(limit)s ký tự (gần dòng %(line)s).",
                                               limit=csv.field_size_limit(), line=reader.line_num)}) from None
        raise ValidationError({"file": say("Không đọc được tệp CSV ở dòng %(line)s: %(reason)s.",
                                           line=reader.line_num, reason=str(exc))}) from None


def _find_header(records):
    """Return (row number, header cells): the first row that is not blank.

    A title above the header ("DANH SÁCH ĐIỂM CẦU…") is refused with the row
    where the column names were found, rather than read as unknown columns.
    """
    for number, cells in records:
        texts = [_header_text(c) for c in cells]
        if not any(texts):
            continue
        if any(columns.column_of(t) for t in texts if t):
            return number, texts
        for later, later_cells in itertools.islice(records, HEADER_SEARCH_ROWS):
            if any(columns.column_of(t) for t in map(_header_text, later_cells) if t):
                title = next(t for t in texts if t)
                raise ValidationError({"file": say("Dòng tiêu đề (tên cột) phải là dòng đầu tiên của trang tính:"
                                                   " tên cột nằm ở dòng %(line)s, phía trên có «%(title)s»."
                                                   " Hãy xoá các dòng phía trên dòng tên cột.",
                                                   line=later, title=title[:80])})
        return number, texts
    raise ValidationError({"file": N_("Tệp trống.")})


def _header_text(cell):
    try:
        return clean(spreadsheet.cell_text(cell))
    except spreadsheet.CellError:
        return ""


def _check_header(number, header):
    """Return ([(position, column)] of the known columns, [(position, text)] of the others), or raise
    ValidationError naming what is wrong: a column named twice, a required one missing."""
    found, seen, unknown = [], {}, []
    for position, text in enumerate(header):
        if not text:
            continue
        column = columns.column_of(text)
        if column is None:
            unknown.append((position, text))
        elif column in seen:
            # a column's Vietnamese header is a word of the file, kept as it is in every language
            raise ValidationError({"file": say("Cột «%(first)s» và «%(second)s» cùng là cột «%(column)s».",
                                               first=seen[column], second=text, column=HEADERS[column])})
        else:
            seen[column] = text
            found.append((position, column))
    missing = ", ".join(f"{HEADERS[c]} ({c})" for c in ("code", "name") if c not in seen)
    if not {"unit_id", "unit_code", "unit_name"} & set(seen):
        units = {"unit_code": HEADERS["unit_code"], "unit_name": HEADERS["unit_name"]}
        if missing:
            raise ValidationError({"file": say("Thiếu cột: %(columns)s, %(unit_code)s (unit_code) hoặc"
                                               " %(unit_name)s (unit_name).", columns=missing, **units)})
        raise ValidationError({"file": say("Thiếu cột: %(unit_code)s (unit_code) hoặc %(unit_name)s (unit_name).",
                                           **units)})
    if missing:
        raise ValidationError({"file": say("Thiếu cột: %(columns)s.", columns=missing)})
    return found, unknown


def _cell_text(column, cell):
    text = spreadsheet.restore(spreadsheet.cell_text(cell, digits_are_text=column in columns.DIGIT_COLUMNS))
    if column == "notes":
        # Notes keep their line breaks; only the normal form changes.
        return unicodedata.normalize("NFC", text).strip()
    if column == "code":
        return text.strip()  # the code's own check names an invisible character rather than lose it
    return clean(text)
