"""The registry's rules: validating, searching, creating and retiring records.

Pages, the API, the importer and the CLI all call these; none of them commit.
"""

import sqlalchemy as sa

from vmeeting.audit import service as audit
from vmeeting.core.database import MAX_ID, utcnow
from vmeeting.core.timefmt import to_local
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
# CHOICE_LABELS: the registry's words for its choices, which pages and other capabilities show
from vmeeting.registry.fields import CHOICE_LABELS, CODE_RE, FIELD_CHECKS, as_id, check_text  # noqa: F401
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Bridge, Endpoint, EndpointGroup
from vmeeting.core.hooks import Hook
from vmeeting.core.text import N_, clean, fold, say

#: the endpoint fields a person or a script may set, in the order exports list them
ENDPOINT_FIELDS = (
    "code", "name", "unit_id", "category", "address", "sip_uri", "probe", "bridge_id", "status",
    "contact_name", "contact_phone", "contact_emails", "technician_id", "transport", "protocol",
    "device_model", "device_serial", "platform_ref", "notes",
)
#: checks other capabilities connect from their init_app, each `guard(endpoint)` raising Conflict when the
#: endpoint must not be retired (booking: it is in a future meeting)
retire_guards = Hook("registry.retire_guards")

# -- units ---------------------------------------------------------------------------


def units_select(on_day=None):
    """Select units in official order (level, then listing position), valid on a day if given."""
    query = sa.select(AdminUnit).order_by(
        sa.case({"province": 0, "district": 1, "commune": 2}, value=AdminUnit.level),
        AdminUnit.position, AdminUnit.id,
    )
    if on_day is not None:
        query = query.where(
            sa.or_(AdminUnit.valid_from.is_(None), AdminUnit.valid_from <= on_day),
            sa.or_(AdminUnit.valid_to.is_(None), AdminUnit.valid_to >= on_day),
        )
    return query


def unit_tree(on_day=None, *, levels=None, under=None):
    """Return [(unit, depth)] in tree order: each unit followed by its children.

    levels: only units of these levels (OUTLINE_LEVELS: no communes); under:
    only this unit's id and the units below it.
    """
    query = units_select(on_day)
    if levels is not None:
        query = query.where(AdminUnit.level.in_(levels))
    if under is not None:
        query = query.where(AdminUnit.id.in_(descendant_ids_select(under)))
    return _in_tree_order(db.session.scalars(query).all())


def _in_tree_order(units):
    """Return [(unit, depth)] of units (objects or rows with id and parent_id, in listing order), each followed
    by its children; a unit whose parent is not among them is a root."""
    ids = {u.id for u in units}
    children = {}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)
    ordered = []

    def walk(unit, depth):
        ordered.append((unit, depth))
        for child in children.get(unit.id, ()):
            walk(child, depth + 1)

    for root in children.get(None, ()):
        walk(root, 0)
    return ordered


def unit_choices(day):
    """Return [(id, name, depth)] of every unit valid on day, in tree order (a user's home unit is one)."""
    return [(unit.id, unit.name, depth) for unit, depth in unit_tree(day)]


#: the levels a filter lists in full: a province has a few dozen of them, the country under a thousand
#: (63 provinces, about 700 districts), where its communes number about ten thousand
OUTLINE_LEVELS = ("province", "district")


def unit_outline(levels=OUTLINE_LEVELS, *, also=None, on_day=None):
    """Return [(id, name, depth)] of the units at `levels`, in tree order: a filter's choices.

    Read as plain rows, not units: a page that offers "which unit?" pays for
    the provinces and districts, never for every commune of the country.
    also: a unit (say the one a page is filtered by) listed too, under its
    parent, whatever its level. on_day: only the units valid that day (the
    date a page shows), and then the communes directly under a province too:
    since 01/7/2025 (Nghị quyết 1672/NQ-UBTVQH15) a province has no district
    level, and its communes are what a filter offers.
    """
    wanted = AdminUnit.level.in_(levels)
    if on_day is not None:
        provinces = sa.select(AdminUnit.id).where(AdminUnit.level == "province")
        wanted = sa.or_(wanted, sa.and_(AdminUnit.level == "commune", AdminUnit.parent_id.in_(provinces)))
    query = (units_select(on_day).with_only_columns(AdminUnit.id, AdminUnit.parent_id, AdminUnit.name)
             .where(wanted if also is None else sa.or_(wanted, AdminUnit.id == also.id)))
    return [(row.id, row.name, depth) for row, depth in _in_tree_order(db.session.execute(query).all())]


def unit_count():
    """Return how many units the registry holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(AdminUnit))


def child_counts(level="commune", on_day=None):
    """Return {parent unit id: how many units of `level` it has (valid on on_day, if given)}: one query."""
    query = units_select(on_day).order_by(None).with_only_columns(AdminUnit.parent_id, sa.func.count())
    return dict(db.session.execute(query.where(AdminUnit.level == level, AdminUnit.parent_id.is_not(None))
                                   .group_by(AdminUnit.parent_id)).all())


def descendant_ids_select(unit_id):
    """Select the ids of a unit and every unit below it (a recursive query)."""
    tree = sa.select(AdminUnit.id).where(AdminUnit.id == unit_id).cte("unit_tree", recursive=True)
    tree = tree.union_all(sa.select(AdminUnit.id).where(AdminUnit.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def get_unit(unit_id):
    """Return the unit or raise ValidationError on the unit_id field."""
    unit = db.session.get(AdminUnit, unit_id) if isinstance(unit_id, int) and 0 < unit_id <= MAX_ID else None
    if unit is None:
        raise ValidationError({"unit_id": N_("Không có đơn vị này.")})
    return unit


UNIT_LEVEL_OF_KIND = {"tỉnh": "province", "thành phố trực thuộc trung ương": "province",
                      "thành phố": "district", "huyện": "district", "thị xã": "district",
                      "xã": "commune", "phường": "commune", "thị trấn": "commune", "đặc khu": "commune"}


def save_unit(unit, data, actor=None):
    """Create (unit=None) or update a unit from name, code, kind, parent and validity dates."""
    errors = {}
    name = clean(data.get("name"))
    code = clean(data.get("code"))
    kind = clean(data.get("kind")).lower()
    if not name or len(name) > 200:
        errors["name"] = N_("Nhập tên đơn vị (tối đa 200 ký tự).")
    if not code or len(code) > 20:
        errors["code"] = N_("Nhập mã đơn vị (tối đa 20 ký tự).")
    if kind not in UNIT_LEVEL_OF_KIND:
        errors["kind"] = N_("Loại đơn vị không hợp lệ.")
    parent = None
    if data.get("parent_id"):
        try:
            parent = db.session.get(AdminUnit, as_id(data["parent_id"]))
        except ValueError:
            parent = None
        if parent is None:
            errors["parent_id"] = N_("Không có đơn vị cấp trên này.")
        elif unit is not None and (parent.id == unit.id or parent.id in set(db.session.scalars(descendant_ids_select(unit.id)))):
            errors["parent_id"] = N_("Đơn vị cấp trên không thể là chính nó hoặc đơn vị cấp dưới của nó.")
    valid_from, valid_to = data.get("valid_from"), data.get("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = N_("Ngày hết hiệu lực phải sau ngày có hiệu lực.")
    if errors:
        raise ValidationError(errors)
    fields = ("code", "name", "kind", "level", "parent_id", "valid_from", "valid_to")
    before = audit.snapshot(unit, fields) if unit is not None else {}
    if unit is None:
        unit = AdminUnit(position=data.get("position") or 0)
        db.session.add(unit)
    unit.code, unit.name, unit.kind = code, name, kind
    unit.level = UNIT_LEVEL_OF_KIND[kind]
    unit.parent_id = parent.id if parent else None
    unit.valid_from, unit.valid_to = valid_from, valid_to
    unit.search_key = fold(f"{name} {code}")
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(unit, fields))
    audit.record(actor, "update" if before else "create", "unit", unit.id, changes, f"Đơn vị {name}")
    return unit


# -- endpoints -------------------------------------------------------------------------


def search_endpoints(q=None, unit_id=None, status=None, bridge_id=None, technician_id=None, on_day=None):
    """Select endpoints matching a search, sorted in Vietnamese order.

    `q` ignores case and accents: every word must appear in the folded name or
    code. Names whose accents also match rank first, since folding joins
    different names (Tân Thanh / Tân Thành). `unit_id` includes the units below
    (valid today; a former unit stands for its successors, succession.site_unit_ids_on);
    with `on_day`, the sites that were under it that day (their history, and
    a former unit through its successors: succession.endpoint_ids_under).
    """
    query = sa.select(Endpoint)
    order = []
    words = fold(q).split() if q else []
    for word in words:
        query = query.where(Endpoint.search_key.contains(word, autoescape=True))
    if words:
        exact = clean(q).casefold()
        order.append(sa.case((Endpoint.name_casefold.contains(exact, autoescape=True), 0), else_=1))
    if unit_id and on_day is not None:
        query = query.where(Endpoint.id.in_(sorted(succession.endpoint_ids_under(unit_id, on_day, descendant_ids_select))))
    elif unit_id:  # today: a unit and those below it, a former unit through its successors (never silently empty)
        today = to_local(utcnow()).date()
        query = query.where(Endpoint.unit_id.in_(sorted(succession.site_unit_ids_on([unit_id], today, descendant_ids_select))))
    if status:
        query = query.where(Endpoint.status == status)
    if bridge_id:
        query = query.where(Endpoint.bridge_id == bridge_id)
    if technician_id:
        query = query.where(Endpoint.technician_id == technician_id)
    return query.order_by(*order, Endpoint.name_sort_key, Endpoint.code)


def get_endpoint_by_code(code):
    """Return the endpoint with that code, without regard to case (`ls-178` finds `LS-178`), or None."""
    return db.session.scalar(sa.select(Endpoint).where(sa.func.lower(Endpoint.code) == clean(code).lower()))


def validate_endpoint(data, endpoint=None, *, partial=False, known_codes=None, actor=None):
    """Return the cleaned field values of data, or raise ValidationError naming each bad field.

    `partial` checks only the fields present (PATCH); `known_codes` maps codes
    taken by other rows of the same import, in lower case, to their row numbers
    (codes are unique without regard to case: `ls-178` is taken when `LS-178`
    is); `actor`, when given, must be allowed to set what it changes of where
    the probes dial (an import's preview passes it, to say so before the import
    is confirmed).
    """
    errors, values = {}, {}
    unknown = set(data) - set(ENDPOINT_FIELDS)
    for name in sorted(unknown):
        errors[name] = N_("Trường không được hỗ trợ.")
    present = [f for f in ENDPOINT_FIELDS if f in data] if partial else ENDPOINT_FIELDS

    for field in present:
        raw = data.get(field)
        try:
            values[field] = FIELD_CHECKS.get(field, check_text)(field, raw)
        except ValueError as exc:
            errors[field] = exc.args[0] if exc.args else str(exc)  # a say() sentence stays one

    raw_category = data.get("category")
    if ("category" in values and "category" not in errors
            and (raw_category is None or isinstance(raw_category, str) and not raw_category.strip())):
        # a new site takes its unit's level's; a site that has one keeps it
        values["category"] = (endpoint.category if endpoint is not None and endpoint.category
                              else _category_of_unit(values.get("unit_id"), values["category"]))
    code = values.get("code")
    if "code" in values and "code" not in errors:
        other = get_endpoint_by_code(code)
        if other is not None and (endpoint is None or other.id != endpoint.id):
            errors["code"] = _code_taken(code, other)
        elif known_codes and code.lower() in known_codes:
            errors["code"] = say("Mã «%(code)s» trùng với dòng %(row)s.", code=code, row=known_codes[code.lower()])
    probe = values.get("probe", endpoint.probe if endpoint else None)
    sip_uri = values.get("sip_uri", endpoint.sip_uri if endpoint else "")
    if probe in ("sip-options", "tcp") and not sip_uri and "sip_uri" not in errors and "probe" not in errors:
        errors["sip_uri"] = N_("Cần địa chỉ SIP để kiểm tra tự động (hoặc chọn «Không kiểm tra»).")
    errors.update(_dial_errors(values, endpoint, actor))
    if errors:
        raise ValidationError(errors)
    return values


#: the category a site gets from its unit's level when none is given (CHOICE_LABELS["category"]): the
#: province's own sites are provincial, a district-level unit's (huyện, thị xã, thành phố thuộc tỉnh) are
#: district-level, a commune-level unit's (xã, phường, thị trấn, đặc khu) commune-level. Since 1 July 2025
#: (Resolution 202/2025/QH15) a province has no districts: its communes sit under it, and the rule holds by level.
CATEGORY_OF_LEVEL = {"province": "provincial", "district": "district", "commune": "commune"}


def _category_of_unit(unit_id, default):
    """The category a site without one gets: its unit's level's (CATEGORY_OF_LEVEL), else `default`."""
    level = db.session.scalar(sa.select(AdminUnit.level).where(AdminUnit.id == unit_id)) if unit_id else None
    return CATEGORY_OF_LEVEL.get(level, default)


def _code_taken(code, other):
    if other.code != code:
        return say("Mã «%(code)s» trùng với mã «%(other)s» của điểm cầu «%(name)s»"
                   " (mã không phân biệt chữ hoa, chữ thường).", code=code, other=other.code, name=other.name)
    return say("Mã «%(code)s» đã được dùng cho điểm cầu «%(name)s».", code=code, name=other.name)


def _write(endpoint, values):
    """Set the values and flush the row; a code taken meanwhile by another request becomes a ValidationError.

    The database's unique index on lower(code) is the last word when two
    requests check the same free code at once (PostgreSQL; on SQLite writing
    requests run one at a time). The values are set inside the savepoint, so
    a refused row leaves the caller's transaction usable and unchanged.
    """
    try:
        with db.session.begin_nested():
            _apply(endpoint, values)
            db.session.add(endpoint)
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        if "code" not in str(exc.orig).lower():
            raise
        code = values.get("code", "")
        other = get_endpoint_by_code(code)
        raise ValidationError({"code": _code_taken(code, other) if other is not None
                               else say("Mã «%(code)s» vừa được dùng cho điểm cầu khác.", code=code)}) from None


def _apply(endpoint, values):
    for field, value in values.items():
        setattr(endpoint, field, value)
    endpoint.refresh_keys()


#: the fields that say where the probes dial, and their values that dial nothing
DIAL_FIELDS = {"sip_uri": "", "probe": "none"}


def may_direct_probes(actor):
    """Tell whether actor may set where the probes dial; None (the CLI, the demo, a job) may."""
    return actor is None or actor.can("endpoints.dial")


def _dial_errors(values, endpoint, actor):
    """Return a reason for each change of an endpoint's SIP address or probe kind by someone who may not
    direct the probes.

    Every path that writes an endpoint (page, API, import) comes through
    validate_endpoint with its actor, so none of them lets a scheduler point the
    probes at a host and port of their choosing and read open or closed from the board.
    """
    errors = {}
    if may_direct_probes(actor):
        return errors
    for field, inert in DIAL_FIELDS.items():
        current = getattr(endpoint, field) if endpoint is not None else inert
        if field in values and values[field] != current:
            errors[field] = N_("Chỉ quản trị viên được đặt địa chỉ SIP và cách kiểm tra tự động của điểm cầu "
                               "(máy chủ sẽ kết nối tới đó).")
    return errors


def create_endpoint(data, actor=None):
    """Create an endpoint from data (validated here); return it.

    Someone who may not direct the probes creates it with no SIP address and
    no probe; an admin adds them.
    """
    if not may_direct_probes(actor) and not data.get("probe"):
        data = {**data, "probe": "none"}
    values = validate_endpoint(data, actor=actor)
    if values.get("status") == "retired":
        raise ValidationError({"status": N_("Không thể tạo điểm cầu ở trạng thái ngừng sử dụng.")})
    endpoint = Endpoint()
    _write(endpoint, values)
    audit.record(actor, "create", "endpoint", endpoint.id,
                 audit.diff({}, audit.snapshot(endpoint, ENDPOINT_FIELDS)), f"Tạo điểm cầu {endpoint.name}")
    return endpoint


def update_endpoint(endpoint, data, actor=None, *, partial=True):
    """Change an endpoint's fields (validated here); retiring goes through retire_endpoint's checks."""
    if not partial:  # a form that may not show them (DIAL_FIELDS) leaves them as they are
        data = {**{field: getattr(endpoint, field) for field in DIAL_FIELDS if field not in data}, **data}
    values = validate_endpoint(data, endpoint, partial=partial, actor=actor)
    before = audit.snapshot(endpoint, ENDPOINT_FIELDS)
    if values.get("status") == "retired" and endpoint.status != "retired":
        _check_retire_guards(endpoint)
        endpoint.retired_at = utcnow()
    elif values.get("status") in ("active", "maintenance"):
        endpoint.retired_at = None
    _write(endpoint, values)
    changes = audit.diff(before, audit.snapshot(endpoint, ENDPOINT_FIELDS))
    if changes:
        audit.record(actor, "update", "endpoint", endpoint.id, changes, f"Sửa điểm cầu {endpoint.name}")
    return endpoint


def retire_endpoint(endpoint, actor=None):
    """Retire an endpoint (it is never deleted); raise Conflict if a future meeting uses it."""
    if endpoint.status == "retired":
        return endpoint
    _check_retire_guards(endpoint)
    changes = {"status": [endpoint.status, "retired"]}
    endpoint.status = "retired"
    endpoint.retired_at = utcnow()
    audit.record(actor, "retire", "endpoint", endpoint.id, changes, f"Ngừng sử dụng điểm cầu {endpoint.name}")
    return endpoint


def _check_retire_guards(endpoint):
    for guard in retire_guards:
        guard(endpoint)


# -- bridges ---------------------------------------------------------------------------


def bridges_select():
    """Select bridges by code."""
    return sa.select(Bridge).order_by(Bridge.code)


def save_bridge(bridge, data, actor=None):
    """Create (bridge=None) or update a bridge from code, name, ports, address, notes."""
    errors = {}
    code, name = clean(data.get("code")), clean(data.get("name"))
    if not code or not CODE_RE.match(code):
        errors["code"] = N_("Mã chỉ gồm chữ không dấu, số và . _ - (tối đa 40 ký tự).")
    else:
        other = db.session.scalar(sa.select(Bridge).where(Bridge.code == code))
        if other is not None and (bridge is None or other.id != bridge.id):
            errors["code"] = say("Mã «%(code)s» đã được dùng.", code=code)
    if not name:
        errors["name"] = N_("Nhập tên cầu MCU.")
    try:
        ports = as_id(data.get("ports"))
        if ports is None or ports < 1 or ports > 100000:
            raise ValueError
    except ValueError:
        errors["ports"] = N_("Số cổng phải là số nguyên từ 1 đến 100000.")
        ports = None
    if errors:
        raise ValidationError(errors)
    fields = ("code", "name", "ports", "address", "notes", "is_active")
    before = audit.snapshot(bridge, fields) if bridge is not None else {}
    if bridge is None:
        bridge = Bridge()
        db.session.add(bridge)
    bridge.code, bridge.name, bridge.ports = code, name, ports
    bridge.address = clean(data.get("address"))
    bridge.notes = (data.get("notes") or "").strip()
    bridge.is_active = bool(data.get("is_active", True))
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(bridge, fields))
    audit.record(actor, "update" if before else "create", "bridge", bridge.id, changes, f"Cầu MCU {name}")
    return bridge


# -- groups ----------------------------------------------------------------------------


def groups_select():
    """Select groups in Vietnamese order of their names."""
    return sa.select(EndpointGroup).order_by(EndpointGroup.name)


def save_group(group, name, description, endpoint_ids, actor=None, *, unit_ids=()):
    """Create (group=None) or update a named selection of endpoints.

    `unit_ids` adds, once, every endpoint not retired of those units and the
    units below them: office staff pick "all of Huyện X" rather than 20 ticks.
    """
    errors = {}
    name = clean(name)
    if not name or len(name) > 200:
        errors["name"] = N_("Nhập tên nhóm (tối đa 200 ký tự).")
    else:
        other = db.session.scalar(sa.select(EndpointGroup).where(EndpointGroup.name == name))
        if other is not None and (group is None or other.id != group.id):
            errors["name"] = say("Đã có nhóm «%(name)s».", name=name)
    # out of range reads as 0, which no row has: "does not exist" below
    ids = {as_id(i) for i in endpoint_ids or []}
    unit_ids = {as_id(i) for i in unit_ids or ()}
    if unit_ids:
        found = set(db.session.scalars(sa.select(AdminUnit.id).where(AdminUnit.id.in_(unit_ids))))
        if found != unit_ids:
            errors["unit_ids"] = N_("Có đơn vị không tồn tại.")
        else:
            in_units = sa.or_(*(Endpoint.unit_id.in_(descendant_ids_select(u)) for u in sorted(unit_ids)))
            ids.update(db.session.scalars(sa.select(Endpoint.id).where(in_units, Endpoint.status != "retired")))
    endpoints = db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_(ids))).all() if ids else []
    if len(endpoints) != len(ids):
        errors["endpoint_ids"] = N_("Có điểm cầu không tồn tại.")
    if errors:
        raise ValidationError(errors)
    before = {"name": group.name, "endpoints": sorted(e.id for e in group.endpoints)} if group else {}
    if group is None:
        group = EndpointGroup(created_by_id=getattr(actor, "id", None))
        db.session.add(group)
    group.name = name
    group.description = (description or "").strip()
    group.endpoints = list(endpoints)
    db.session.flush()
    after = {"name": group.name, "endpoints": sorted(e.id for e in endpoints)}
    audit.record(actor, "update" if before else "create", "group", group.id, audit.diff(before, after), f"Nhóm {name}")
    return group

