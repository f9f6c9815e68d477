"""Endpoint import and export, as CSV or XLSX.

An import is read (`read_rows`), checked (`check_rows`), kept between the
preview and the confirmation (`stage_import`, `load_batch`) and applied
(`apply_batch`, or `apply_rows` for the CLI) all at once or not at all. The
rules for each field live in `registry.service`; this module only translates
between spreadsheet columns (unit code, bridge code, technician user name) and
the service's fields (ids).
"""

import csv
import io
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import openpyxl
import sqlalchemy as sa
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.orm import selectinload

from vmeeting.audit import service as audit
from vmeeting.auth.models import User
from vmeeting.database import utcnow
from vmeeting.errors import Conflict, NotFound, ValidationError
from vmeeting.extensions import db
from vmeeting.registry import service
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, ImportBatch
from vmeeting.text import clean
from vmeeting.timefmt import local_zone

#: the columns of an export, in order; an import accepts any subset holding the required ones
COLUMNS = (
    "code", "name", "unit_id", "unit_code", "unit_name", "category", "address", "sip_uri", "probe",
    "bridge", "status", "contact_name", "contact_phone", "contact_emails", "technician", "transport",
    "protocol", "device_model", "device_serial", "platform_ref", "notes",
)
#: columns that are copied to the service's field of the same name
PLAIN_COLUMNS = tuple(c for c in COLUMNS if c in service.ENDPOINT_FIELDS and c != "unit_id")
#: the service's field names that a column of another name feeds, to report errors by column
COLUMN_OF_FIELD = {"bridge_id": "bridge", "technician_id": "technician"}
EXTENSIONS = (".csv", ".xlsx")
MAX_ROWS = 20000
BATCH_LIFETIME = timedelta(hours=24)
ROW_KEY = "_row"


class ImportRejected(ValidationError):
    """An import refused as a whole; `report` holds every row and its reasons."""

    def __init__(self, report):
        bad = [row for row in report.rows if row.errors]
        super().__init__(report.error_fields(), f"Không nhập gì: {len(bad)} dòng có lỗi.")
        self.report = report


@dataclass
class RowResult:
    """One row of an import: its number in the sheet, the values for the service, its errors."""

    number: int
    data: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    action: str = "create"
    #: for an update, {field: [current, new]} of what the row would change
    changes: dict = field(default_factory=dict)
    code: str = ""

    @property
    def is_valid(self):
        return not self.errors


@dataclass
class ImportReport:
    """The rows of an import after checking, with counts for the preview."""

    rows: list = field(default_factory=list)

    @property
    def is_valid(self):
        return bool(self.rows) and self.invalid == 0

    @property
    def created(self):
        return sum(1 for r in self.rows if r.is_valid and r.action == "create")

    @property
    def updated(self):
        """Count the valid updates that change something."""
        return sum(1 for r in self.rows if r.is_valid and r.action == "update" and r.changes)

    @property
    def unchanged(self):
        """Count the valid updates whose values equal what is stored already."""
        return sum(1 for r in self.rows if r.is_valid and r.action == "update" and not r.changes)

    @property
    def invalid(self):
        return sum(1 for r in self.rows if r.errors)

    def error_fields(self):
        """Return every error as {"Dòng N, cột C": reason}, for a ValidationError."""
        return {f"Dòng {row.number}, cột {column}": reason
                for row in self.rows for column, reason in row.errors.items()}


# -- reading ---------------------------------------------------------------------------


def read_rows(filename, stream):
    """Return the data rows of a CSV or XLSX file as dicts keyed by column.

    Each dict also holds "_row", the row's number in the sheet (the header is
    row 1), so errors point at the line a person sees. Blank rows are skipped.
    Raise ValidationError on the "file" field when the file cannot be used.
    """
    name = clean(filename).lower()
    data = stream if isinstance(stream, bytes) else stream.read()
    if name.endswith(".csv"):
        table = _csv_table(data)
    elif name.endswith(".xlsx"):
        table = _xlsx_table(data)
    else:
        raise ValidationError({"file": "Chỉ nhận tệp .csv hoặc .xlsx."})
    header, body = _split_header(table)
    columns = _check_header(header)
    rows = []
    for number, cells in body:
        row = {column: _cell_text(column, cells[i] if i < len(cells) else None)
               for i, column in columns if column is not None}
        if not any(row.values()):
            continue
        row[ROW_KEY] = number
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise ValidationError({"file": f"Tệp có quá {MAX_ROWS} dòng; hãy chia nhỏ."})
    if not rows:
        raise ValidationError({"file": "Tệp không có dòng dữ liệu nào dưới dòng tiêu đề."})
    return rows


def _csv_table(data):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "Tệp CSV phải mã hoá UTF-8 (trong Excel: Lưu thành «CSV UTF-8»)."}) from None
    first_line = text.lstrip("\r\n").split("\n", 1)[0].strip()
    # Excel set to Vietnamese separates with ";" because "," is the decimal mark there.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    skip = 0
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        delimiter, skip = first_line[4], 1  # Excel's own hint line names the separator
    try:
        table = list(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1))
    except csv.Error as exc:
        raise ValidationError({"file": f"Không đọc được tệp CSV: {exc}."}) from None
    return table[skip:]


def _xlsx_table(data):
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a dozen kinds (zip, XML, key errors) for a damaged file
        raise ValidationError({"file": "Không đọc được tệp Excel (.xlsx); tệp có thể bị hỏng."}) from None
    try:
        sheet = workbook.worksheets[0]
        return [(number, list(cells)) for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)]
    except Exception:  # as above: a damaged sheet fails while its rows are read
        raise ValidationError({"file": "Không đọc được trang tính đầu tiên của tệp Excel."}) from None
    finally:
        workbook.close()


def _split_header(table):
    for index, (_number, cells) in enumerate(table):
        if any(_cell_text("", c) for c in cells):
            return cells, table[index + 1:]
    raise ValidationError({"file": "Tệp trống."})


def _check_header(header):
    """Return [(position, column or None)], or raise ValidationError naming what is wrong."""
    columns, seen, unknown = [], set(), []
    for position, cell in enumerate(header):
        column = _cell_text("", cell).lower().replace(" ", "_")
        if not column:
            columns.append((position, None))
            continue
        if column not in COLUMNS:
            unknown.append(_cell_text("", cell))
        elif column in seen:
            raise ValidationError({"file": f"Cột «{column}» xuất hiện hai lần."})
        seen.add(column)
        columns.append((position, column))
    if unknown:
        raise ValidationError({"file": "Cột không được hỗ trợ: " + ", ".join(f"«{u}»" for u in unknown)
                               + ". Các cột: " + ", ".join(COLUMNS) + "."})
    missing = [c for c in ("code", "name") if c not in seen]
    if "unit_id" not in seen and "unit_code" not in seen:
        missing.append("unit_id hoặc unit_code")
    if missing:
        raise ValidationError({"file": "Thiếu cột: " + ", ".join(missing) + "."})
    return columns


def _cell_text(column, value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    if column == "notes":
        # Notes keep their line breaks; only the normal form changes.
        return unicodedata.normalize("NFC", str(value)).strip()
    return clean(value)


# -- checking --------------------------------------------------------------------------


def check_rows(rows):
    """Check every row against the registry's rules and return an ImportReport.

    Nothing is written. Unit codes resolve among the units valid today; bridge
    codes and technician user names resolve to their ids. A code already in the
    registry makes the row an update of that endpoint; the columns absent from
    the file are left as they are.
    """
    lookups = _Lookups.load(rows)
    report = ImportReport()
    known_codes = {}
    for index, raw in enumerate(rows):
        number = raw.get(ROW_KEY) or index + 2
        result = RowResult(number=number, code=clean(raw.get("code")))
        data, errors = lookups.to_fields(raw)
        result.data = data
        existing = lookups.endpoints.get(result.code)
        result.action = "update" if existing is not None else "create"
        try:
            values = service.validate_endpoint(data, existing, partial=existing is not None,
                                               known_codes=known_codes)
        except ValidationError as exc:
            values = None
            for name, reason in exc.fields.items():
                if name == "unit_id" and "unit_code" in errors:
                    continue  # the unit code's own reason says more than "choose a unit"
                errors.setdefault(COLUMN_OF_FIELD.get(name, name), reason)
        if values is not None and existing is not None:
            result.changes = audit.diff(audit.snapshot(existing, values), values)
        result.errors = errors
        if result.code and result.code not in known_codes:
            known_codes[result.code] = number
        report.rows.append(result)
    return report


class _Lookups:
    """What the rows refer to, loaded in one query per table rather than one per row."""

    def __init__(self, units, bridges, technicians, endpoints, loaded_units):
        self.units, self.bridges, self.technicians, self.endpoints = units, bridges, technicians, endpoints
        # The session's identity map holds objects weakly; keeping them here lets the
        # service's session.get() find every unit without another query.
        self._loaded_units = loaded_units

    @classmethod
    def load(cls, rows):
        today = datetime.now(local_zone()).date()
        unit_codes = {clean(r.get("unit_code")) for r in rows} - {""}
        unit_ids = {int(v) for r in rows if (v := clean(r.get("unit_id"))).isdigit()}
        units, found = {}, []
        if unit_codes or unit_ids:
            found = db.session.scalars(
                sa.select(AdminUnit).where(sa.or_(AdminUnit.code.in_(unit_codes), AdminUnit.id.in_(unit_ids)))
            ).all()
            for unit in found:
                if unit.is_valid_on(today):
                    units.setdefault(unit.code, []).append(unit)
        bridge_codes = {clean(r.get("bridge")) for r in rows} - {""}
        bridges = {b.code: b for b in db.session.scalars(sa.select(Bridge).where(Bridge.code.in_(bridge_codes)))}
        names = {clean(r.get("technician")).lower() for r in rows} - {""}
        technicians = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
        codes = {clean(r.get("code")) for r in rows} - {""}
        endpoints = {e.code: e for e in db.session.scalars(sa.select(Endpoint).where(Endpoint.code.in_(codes)))}
        return cls(units, bridges, technicians, endpoints, found)

    def to_fields(self, raw):
        """Return (data for the service, errors by column) for one row."""
        data = {column: raw[column] for column in PLAIN_COLUMNS if column in raw}
        errors = {}
        if "unit_id" in raw or "unit_code" in raw:
            unit_id, unit_error = self._unit(raw)
            data["unit_id"] = unit_id
            if unit_error:
                errors[unit_error[0]] = unit_error[1]
        if "bridge" in raw:
            code = clean(raw["bridge"])
            bridge = self.bridges.get(code)
            data["bridge_id"] = bridge.id if bridge else None
            if code and bridge is None:
                errors["bridge"] = f"Không có cầu MCU mã «{code}»."
        if "technician" in raw:
            name = clean(raw["technician"]).lower()
            user = self.technicians.get(name)
            data["technician_id"] = user.id if user else None
            if name and (user is None or user.role != "technician"):
                errors["technician"] = f"Không có kỹ thuật viên «{name}»."
        return data, errors

    def _unit(self, raw):
        unit_id, code = clean(raw.get("unit_id")), clean(raw.get("unit_code"))
        if unit_id:
            if not unit_id.isdigit():
                return unit_id, None  # the service explains that an id is a number
            unit = db.session.get(AdminUnit, int(unit_id))
            if code and unit is not None and unit.code != code:
                return int(unit_id), ("unit_code", f"Mã đơn vị «{code}» không khớp với đơn vị số {unit_id} "
                                                       f"({unit.full_name}, mã {unit.code}); hãy xoá một trong hai.")
            return int(unit_id), None
        if not code:
            return None, None  # the service reports the missing unit
        matches = self.units.get(code, [])
        if not matches:
            return None, ("unit_code", f"Không có đơn vị mã «{code}» đang có hiệu lực.")
        if len(matches) > 1:
            return None, ("unit_code", f"Mã «{code}» ứng với nhiều đơn vị đang có hiệu lực; hãy dùng cột unit_id.")
        return matches[0].id, None


# -- staging and applying --------------------------------------------------------------


def stage_import(rows, filename, actor):
    """Keep parsed rows for `actor` until they confirm the import; return the batch."""
    batch = ImportBatch(token=secrets.token_urlsafe(32), created_by_id=actor.id,
                        filename=clean(filename)[:255], rows=list(rows))
    db.session.add(batch)
    db.session.flush()
    return batch


def load_batch(token, actor):
    """Return the staged batch with that token, or raise NotFound.

    Only its uploader may load it, once, within a day: a token that leaks
    through a log or a shared screen is of no use to anyone else.
    """
    batch = db.session.scalar(sa.select(ImportBatch).where(ImportBatch.token == str(token or "")))
    if (
        batch is None
        or actor is None
        or batch.created_by_id != actor.id
        or batch.applied_at is not None
        or batch.created_at < utcnow() - BATCH_LIFETIME
    ):
        raise NotFound("Không tìm thấy lượt nhập này (đã hết hạn, đã áp dụng hoặc của người khác).")
    return batch


def apply_batch(batch, actor):
    """Apply a staged batch all at once and mark it applied; return the report.

    Raise ImportRejected (a ValidationError) and change nothing if any row is bad.
    """
    if batch.applied_at is not None:
        raise NotFound("Lượt nhập này đã được áp dụng.")
    report = apply_rows(batch.rows, actor)
    batch.applied_at = utcnow()
    audit.record(actor, "import", "import_batch", batch.id,
                 {"created": [None, report.created], "updated": [None, report.updated]},
                 f"Nhập điểm cầu từ {batch.filename}")
    db.session.flush()
    return report


def apply_rows(rows, actor=None):
    """Create or update the endpoint of every row, or none; return the report.

    Rows are checked again first (the registry may have changed since the
    preview). The writes run in a savepoint, so a rule that only the write
    itself can check (a retirement a future meeting blocks) undoes every row,
    whatever the caller does next. Raise ImportRejected naming every bad row.
    """
    report = check_rows(rows)
    if not report.is_valid:
        raise ImportRejected(report)
    endpoints = {e.code: e for e in db.session.scalars(
        sa.select(Endpoint).where(Endpoint.code.in_([r.code for r in report.rows])))}
    # Leaving the block by an exception rolls the savepoint back: no row stays written.
    with db.session.begin_nested():
        for row in report.rows:
            try:
                if row.action == "update":
                    service.update_endpoint(endpoints[row.code], row.data, actor, partial=True)
                else:
                    service.create_endpoint(row.data, actor)
            except ValidationError as exc:
                row.errors.update({COLUMN_OF_FIELD.get(k, k): v for k, v in exc.fields.items()})
            except Conflict as exc:
                row.errors["status"] = exc.message
        if report.invalid:
            raise ImportRejected(report)
    return report


# -- exporting -------------------------------------------------------------------------


def export_rows(select):
    """Return one dict per endpoint of the select, keyed by COLUMNS, ready to write."""
    query = select.options(
        selectinload(Endpoint.unit).selectinload(AdminUnit.parent),
        selectinload(Endpoint.bridge),
        selectinload(Endpoint.technician),
    )
    rows = []
    for endpoint in db.session.scalars(query):
        row = {column: getattr(endpoint, column) for column in PLAIN_COLUMNS}
        row.update(
            unit_id=endpoint.unit_id,
            unit_code=endpoint.unit.code,
            unit_name=endpoint.unit.full_name,
            bridge=endpoint.bridge.code if endpoint.bridge else "",
            technician=endpoint.technician.username if endpoint.technician else "",
            contact_emails="; ".join(endpoint.contact_emails or []),
        )
        rows.append({column: row[column] for column in COLUMNS})
    return rows


def write_csv(rows):
    """Return rows as CSV bytes, UTF-8 with a BOM so that Excel shows Vietnamese correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(rows):
    """Return rows as the bytes of an XLSX workbook with one sheet."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Điểm cầu")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row.get(c)) for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value):
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # openpyxl takes any text starting with "=" for a formula; a name must stay text.
    cell.data_type = "s"
    return cell
