"""Endpoint import and export, as CSV or XLSX.

An import is read (`read_rows`, in registry.transfer_read), checked
(`check_rows`), kept between the preview and the confirmation (`stage_import`,
`load_batch`) and applied (`apply_batch`, or `apply_rows` for the CLI) all at
once or not at all. The rules for each field live in `registry.service`; this
module only translates between spreadsheet columns (unit code or name, bridge
code, technician user name, Vietnamese words for fixed values) and the
service's fields (ids, stored values). Exports (`write_csv`, `write_xlsx`) and
the import template (`write_template`) speak Vietnamese unless asked for the
technical names.
"""

import io
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import openpyxl
import sqlalchemy as sa
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import selectinload

from vmeeting.core import spreadsheet
from vmeeting.audit import service as audit
from vmeeting.auth.models import User
from vmeeting.core.database import MAX_ID, utcnow
from vmeeting.core.errors import Conflict, NotFound, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import columns, service
from vmeeting.registry.columns import COLUMNS, HEADERS
from vmeeting.registry.transfer_validity import EndedUnits
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, ImportBatch
# the reading of files, which the pages and the CLI reach through this module
from vmeeting.registry.transfer_read import ERRORS_KEY, EXTENSIONS, LIMITS, MAX_FILE_BYTES, ROW_KEY, read_rows  # noqa: F401
from vmeeting.core.text import clean, fold, say
from vmeeting.core.timefmt import local_zone

#: columns that are copied to the service's field of the same name
PLAIN_COLUMNS = tuple(c for c in COLUMNS if c in service.ENDPOINT_FIELDS and c != "unit_id")
#: the service's field names that a column of another name feeds, to report errors by column
COLUMN_OF_FIELD = {"bridge_id": "bridge", "technician_id": "technician"}
BATCH_LIFETIME = timedelta(hours=24)
#: the words of an export's header and fixed values: Vietnamese for people, technical for scripts
LABELS = ("vi", "technical")


class ImportRejected(ValidationError):
    """An import refused as a whole; `report` holds every row and its reasons."""

    def __init__(self, report):
        bad = [row for row in report.rows if row.errors]
        super().__init__(report.error_fields(), say("Không nhập gì: %(count)s dòng có lỗi.", count=len(bad)))
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


# -- checking --------------------------------------------------------------------------


def check_rows(rows, actor=None):
    """Check every row against the registry's rules and return an ImportReport.

    Nothing is written. `actor`, when given, must be allowed to set what the
    rows change of where the probes dial (only admins: a scheduler's file with
    SIP addresses is refused in the preview, not only at confirm). Unit codes (or names) resolve among the units valid
    today; bridge codes and technician user names resolve to their ids; fixed
    values may be written in Vietnamese. A code already in the registry,
    whatever its case, makes the row an update of that endpoint; the columns
    absent from the file are left as they are.
    """
    lookups = _Lookups.load(rows)
    report = ImportReport()
    known_codes = {}
    for index, raw in enumerate(rows):
        number = raw.get(ROW_KEY) or index + 2
        result = RowResult(number=number, code=clean(raw.get("code")))
        data, errors = lookups.to_fields(raw)
        existing = lookups.endpoints.get(result.code.lower())
        if existing is not None and result.code.lower() == existing.code.lower():
            data["code"] = existing.code  # the code names the site; its stored spelling stays
        result.data = data
        result.action = "update" if existing is not None else "create"
        try:
            values = service.validate_endpoint(data, existing, partial=existing is not None,
                                               known_codes=known_codes, actor=actor)
        except ValidationError as exc:
            values = None
            for name, reason in exc.fields.items():
                if name == "unit_id" and errors.keys() & {"unit_code", "unit_name"}:
                    continue  # the unit's own reason says more than "choose a unit"
                if name in columns.CHOICE_COLUMNS and data.get(name) not in columns.CHOICES[name]:
                    # a word the column does not know; a known one refused (a scheduler's probe) keeps its reason.
                    # The words are the file's, in Vietnamese whatever the page's language.
                    reason = say("Phải là một trong: %(choices)s.", choices=", ".join(columns.choice_words(name)))
                errors.setdefault(COLUMN_OF_FIELD.get(name, name), reason)
        if values is not None and existing is not None:
            result.changes = audit.diff(audit.snapshot(existing, values), values)
        # What could not be read from a cell is the first thing to fix in that column.
        result.errors = {**errors, **raw.get(ERRORS_KEY, {})}
        if result.code and result.code.lower() not in known_codes:
            known_codes[result.code.lower()] = number
        report.rows.append(result)
    return report


class _Lookups:
    """What the rows refer to, loaded in one query per table rather than one per row."""

    def __init__(self, units, unit_names, bridges, technicians, endpoints, loaded_units):
        self.units, self.unit_names = units, unit_names
        self.bridges, self.technicians, self.endpoints = bridges, technicians, endpoints
        # The session's identity map holds objects weakly; keeping them here lets the
        # service's session.get() find every unit without another query.
        self._loaded_units = loaded_units

    @classmethod
    def load(cls, rows):
        today = datetime.now(local_zone()).date()
        unit_codes = {clean(r.get("unit_code")) for r in rows} - {""}
        # an id past the database's range names no unit; it is not sent to the database (SQLite overflows)
        unit_ids = {int(v) for r in rows if (v := clean(r.get("unit_id"))).isascii() and v.isdigit()
                    and len(v) <= 10 and int(v) <= MAX_ID}
        by_name = any(clean(r.get("unit_name")) and not clean(r.get("unit_code")) and not clean(r.get("unit_id"))
                      for r in rows)
        units, unit_names, found = {}, {}, []
        if unit_codes or unit_ids or by_name:
            query = sa.select(AdminUnit).options(selectinload(AdminUnit.parent))
            if not by_name:
                query = query.where(sa.or_(AdminUnit.code.in_(unit_codes), AdminUnit.id.in_(unit_ids)))
            found = db.session.scalars(query).all()
            for unit in found:
                if unit.is_valid_on(today):
                    units.setdefault(unit.code, []).append(unit)
                    for name in {fold(unit.name), fold(unit.full_name)}:
                        unit_names.setdefault(name, []).append(unit)
        bridge_codes = {clean(r.get("bridge")) for r in rows} - {""}
        bridges = {b.code: b for b in db.session.scalars(sa.select(Bridge).where(Bridge.code.in_(bridge_codes)))}
        names = {clean(r.get("technician")).lower() for r in rows} - {""}
        technicians = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
        codes = {clean(r.get("code")).lower() for r in rows} - {""}
        endpoints = {e.code.lower(): e for e in db.session.scalars(
            sa.select(Endpoint).where(sa.func.lower(Endpoint.code).in_(codes)))}
        lookups = cls(units, unit_names, bridges, technicians, endpoints, found)
        lookups.ended = EndedUnits(found, today)  # a unit ended on the import's day: refused, its successor named
        return lookups

    def to_fields(self, raw):
        """Return (data for the service, errors by column) for one row."""
        data = {column: raw[column] for column in PLAIN_COLUMNS if column in raw}
        for column in columns.CHOICE_COLUMNS:
            if data.get(column):
                data[column] = columns.choice_value(column, data[column])
        errors = {}
        if raw.keys() & {"unit_id", "unit_code", "unit_name"}:
            unit_id, unit_error = self._unit(raw)
            data["unit_id"] = unit_id
            if unit_error:
                errors[unit_error[0]] = unit_error[1]
        if "bridge" in raw:
            code = clean(raw["bridge"])
            bridge = self.bridges.get(code)
            data["bridge_id"] = bridge.id if bridge else None
            if code and bridge is None:
                errors["bridge"] = say("Không có cầu MCU mã «%(code)s».", code=code)
        if "technician" in raw:
            name = clean(raw["technician"]).lower()
            user = self.technicians.get(name)
            data["technician_id"] = user.id if user else None
            if name and (user is None or user.role != "technician"):
                errors["technician"] = say("Không có kỹ thuật viên «%(name)s».", name=name)
        return data, errors

    def _unit(self, raw):
        unit_id, code, name = clean(raw.get("unit_id")), clean(raw.get("unit_code")), clean(raw.get("unit_name"))
        if unit_id:
            if not (unit_id.isascii() and unit_id.isdigit()):
                return unit_id, None  # the service explains that an id is a number
            unit = db.session.get(AdminUnit, int(unit_id)) if int(unit_id) <= MAX_ID else None
            if unit is not None and self.ended.reason(unit):
                return int(unit_id), ("unit_id", self.ended.reason(unit))
            if code and unit is not None and unit.code != code:
                return int(unit_id), ("unit_code", say("Mã đơn vị «%(code)s» không khớp với đơn vị số %(unit_id)s"
                                                       " (%(unit)s, mã %(unit_code)s); hãy xoá một trong hai.",
                                                       code=code, unit_id=unit_id, unit=unit.full_name,
                                                       unit_code=unit.code))
            return int(unit_id), None
        if code:
            matches = self.units.get(code, [])
            if not matches:
                return None, ("unit_code", self.ended.reason_for_code(code)
                              or say("Không có đơn vị mã «%(code)s» đang có hiệu lực.", code=code))
            if len(matches) > 1:
                return None, ("unit_code", say("Mã «%(code)s» ứng với nhiều đơn vị đang có hiệu lực; hãy dùng cột"
                                               " %(column)s.", code=code, column=HEADERS["unit_id"]))
            return matches[0].id, None
        if name:
            matches = self.unit_names.get(fold(name), [])
            if not matches:
                return None, ("unit_name", self.ended.reason_for_name(name)
                              or say("Không có đơn vị tên «%(name)s» đang có hiệu lực.", name=name))
            if len(matches) > 1:
                return None, ("unit_name", say("Có %(count)s đơn vị tên «%(name)s»: %(units)s. Hãy ghi tên kèm đơn"
                                               " vị cấp trên như trên, hoặc dùng cột %(column)s.",
                                               count=len(matches), name=name, column=HEADERS["unit_code"],
                                               units="; ".join(f"{u.full_name} (mã {u.code})" for u in matches)))
            return matches[0].id, None
        return None, None  # the service reports the missing unit


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
    report = check_rows(rows, actor)
    if not report.is_valid:
        raise ImportRejected(report)
    endpoints = {e.code.lower(): e for e in db.session.scalars(
        sa.select(Endpoint).where(sa.func.lower(Endpoint.code).in_([r.code.lower() for r in report.rows])))}
    # Leaving the block by an exception rolls the savepoint back: no row stays written.
    with db.session.begin_nested():
        for row in report.rows:
            try:
                if row.action == "update":
                    service.update_endpoint(endpoints[row.code.lower()], row.data, actor, partial=True)
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
            unit_valid_from=endpoint.unit.valid_from.isoformat() if endpoint.unit.valid_from else "",
            unit_valid_to=endpoint.unit.valid_to.isoformat() if endpoint.unit.valid_to else "",
            bridge=endpoint.bridge.code if endpoint.bridge else "",
            technician=endpoint.technician.username if endpoint.technician else "",
            contact_emails="; ".join(endpoint.contact_emails or []),
        )
        rows.append({column: row[column] for column in COLUMNS})
    return rows


def _header(labels):
    return [HEADERS[c] for c in COLUMNS] if labels == "vi" else list(COLUMNS)


def _line(row, labels):
    if labels == "vi":
        row = {**row, **{c: columns.choice_label(c, row[c]) for c in columns.CHOICE_COLUMNS if row.get(c)}}
    return [row.get(c) for c in COLUMNS]


def write_csv(rows, labels="vi"):
    """Return rows as CSV bytes (spreadsheet.csv_bytes), headed and worded in Vietnamese or technical terms."""
    return spreadsheet.csv_bytes(_header(labels), (_line(row, labels) for row in rows))


def write_xlsx(rows, labels="vi"):
    """Return rows as the bytes of an XLSX workbook with one sheet, worded as `write_csv`."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Điểm cầu")
    sheet.freeze_panes = "A2"
    sheet.append(_header(labels))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in _line(row, labels)])
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


# -- the template ----------------------------------------------------------------------

#: the template's columns: the export's, less the unit's id (a person picks a unit by code or name)
TEMPLATE_COLUMNS = tuple(c for c in COLUMNS if c not in ("unit_id", "unit_valid_from", "unit_valid_to"))
TEMPLATE_ROWS = 2000
_SAMPLE = {"code": "VD-001", "name": "Ví dụ: UBND xã Mẫu (xoá dòng này)", "category": "commune",
           "address": "Trụ sở UBND xã", "sip_uri": "sip:vd-001@vc.example.vn", "probe": "sip-options",
           "status": "active", "contact_name": "Nguyễn Văn A", "contact_phone": "0912345678",
           "contact_emails": "vanphong@example.vn", "transport": "tslcd", "protocol": "sip"}


def write_template(on_day):
    """Return an XLSX import template: the Vietnamese header, a sample row, lists for the fixed values.

    Every column is formatted as Text, so Excel keeps a phone number's leading
    zero and never turns a code into a date; a second sheet, "Danh mục", holds
    the lists (fixed values, and the unit codes and names valid on `on_day`).
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Điểm cầu"
    lists = workbook.create_sheet("Danh mục")
    units = db.session.scalars(service.units_select(on_day).options(selectinload(AdminUnit.parent))).all()
    list_columns = {column: columns.choice_words(column) for column in columns.CHOICE_COLUMNS}
    list_columns["unit_code"] = [u.code for u in units]
    list_columns["unit_name"] = [u.full_name for u in units]
    sheet.append([HEADERS[c] for c in TEMPLATE_COLUMNS])
    list_numbers = itertools.count(1)
    sample = {**_SAMPLE, **({"unit_code": units[-1].code, "unit_name": units[-1].full_name} if units else {})}
    sheet.append([columns.choice_label(c, sample[c]) if c in list_columns and c in _SAMPLE else sample.get(c)
                  for c in TEMPLATE_COLUMNS])
    for index, column in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(HEADERS[column]) + 4)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.cell(row=1, column=index).font = Font(bold=True)
        words = list_columns.get(column)
        if not words:
            continue
        list_index = next(list_numbers)
        list_letter = get_column_letter(list_index)
        lists.cell(row=1, column=list_index, value=HEADERS[column]).font = Font(bold=True)
        for offset, word in enumerate(words, start=2):
            lists.cell(row=offset, column=list_index, value=word).data_type = "s"
        check = DataValidation(type="list", allow_blank=True, showErrorMessage=column in columns.CHOICE_COLUMNS,
                               formula1=f"'Danh mục'!${list_letter}$2:${list_letter}${len(words) + 1}",
                               errorTitle=HEADERS[column], error="Chọn một giá trị trong danh sách.")
        check.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
