"""Choosing sites: the whole province, units with all below them, groups, single endpoints."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa

from vmeeting.core.bounds import as_id
from vmeeting.core.database import one_of
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import areas
from vmeeting.registry import service as registry
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Endpoint, EndpointGroup
from vmeeting.core.text import N_, fold, say


@dataclass
class SiteChoice:
    """The endpoints a selection resolves to, and those it left out and why."""

    endpoints: list = field(default_factory=list)
    #: [(endpoint, reason)] for sites inside a chosen unit or group that cannot be booked
    excluded: list = field(default_factory=list)
    selection: dict = field(default_factory=dict)


class SiteRow(NamedTuple):
    """What a booking and the slot finder need of an endpoint, read as columns: 10,000 cost little, objects much.

    A named tuple: made from a result row in one call (a frozen dataclass sets each field apart).
    """

    id: int
    code: str
    name: str
    status: str
    bridge_id: int | None
    name_sort_key: bytes

    @property
    def is_bookable(self):
        return self.status == "active"


#: the columns of a SiteRow
_ROW_COLUMNS = (Endpoint.id, Endpoint.code, Endpoint.name, Endpoint.status, Endpoint.bridge_id, Endpoint.name_sort_key)


# -- choosing sites ----------------------------------------------------------------------


def resolve_sites(*, endpoint_ids=(), unit_ids=(), group_ids=(), all_endpoints=False, on_day=None, meeting=None,
                  as_rows=False):
    """Resolve a mix of whole province, units (with all below), groups and single endpoints.

    Single endpoints must be bookable (active); inside units, groups and the
    whole province, sites in maintenance or retired are left out and listed.
    Units are taken as valid on `on_day` (reorganisations change the tree).
    With `meeting` (a change to it), the sites it already has may stay though no
    longer bookable: a site going into maintenance must not drop out unasked.
    as_rows: the endpoints come as SiteRow (columns only), for callers that need
    no Endpoint objects (the API's bookings, the slot finder); the pages keep
    the objects, whose relations their templates read.
    """

    def load(query):
        if as_rows:
            return list(map(SiteRow._make, db.session.execute(query.with_only_columns(*_ROW_COLUMNS))))
        return db.session.scalars(query).all()

    errors = {}
    endpoint_ids = _id_list(endpoint_ids, "endpoint_ids", errors)
    unit_ids = _id_list(unit_ids, "unit_ids", errors)
    group_ids = _id_list(group_ids, "group_ids", errors)
    if errors:
        raise ValidationError(errors)
    if not (endpoint_ids or unit_ids or group_ids or all_endpoints):
        raise ValidationError({"endpoint_ids": N_("Chọn ít nhất một điểm cầu, đơn vị hoặc nhóm.")})

    chosen = {}
    explicit = []
    if endpoint_ids:
        found = {e.id: e for e in load(
            sa.select(Endpoint).where(one_of(Endpoint.id, endpoint_ids, db.session.get_bind())))}
        missing = [i for i in endpoint_ids if i not in found]
        if missing:
            errors["endpoint_ids"] = say(_MISSING["endpoint_ids"], number=", ".join(map(str, missing)))
        else:
            kept = {e.id for e in meeting.endpoints} | {meeting.chair_endpoint_id} if meeting is not None else set()
            not_bookable = [found[i] for i in endpoint_ids if not found[i].is_bookable and i not in kept]
            if not_bookable:
                names = ", ".join(f"{e.name} ({registry.CHOICE_LABELS['status'][e.status].lower()})" for e in not_bookable)
                errors["endpoint_ids"] = say("Không thể đặt điểm cầu đang bảo trì hoặc ngừng sử dụng: %(sites)s.",
                                             sites=names)
            explicit = [found[i] for i in endpoint_ids]
    if unit_ids:
        known = set(db.session.scalars(sa.select(AdminUnit.id).where(AdminUnit.id.in_(unit_ids))))
        if len(known) != len(set(unit_ids)):
            errors["unit_ids"] = N_("Có đơn vị không tồn tại.")
    if group_ids:
        known = set(db.session.scalars(sa.select(EndpointGroup.id).where(EndpointGroup.id.in_(group_ids))))
        if len(known) != len(set(group_ids)):
            errors["group_ids"] = N_("Có nhóm không tồn tại.")
    if errors:
        raise ValidationError(errors)

    for endpoint in explicit:
        chosen[endpoint.id] = endpoint
    wider = []
    if all_endpoints:
        wider = load(sa.select(Endpoint).where(Endpoint.status != "retired"))
    else:
        if unit_ids:
            wider += load(
                sa.select(Endpoint).where(one_of(Endpoint.unit_id, _units_below(unit_ids, on_day), db.session.get_bind()),
                                          Endpoint.status != "retired"))
        if group_ids:
            wider += load(sa.select(Endpoint).join(Endpoint.groups).where(EndpointGroup.id.in_(group_ids)))
    excluded = {}
    for endpoint in wider:
        if endpoint.id in chosen:
            continue
        if endpoint.is_bookable:
            chosen[endpoint.id] = endpoint
        else:
            excluded[endpoint.id] = (endpoint, registry.CHOICE_LABELS["status"][endpoint.status])
    selection = {"all": bool(all_endpoints), "unit_ids": unit_ids, "group_ids": group_ids,
                 "endpoint_ids": endpoint_ids}
    return SiteChoice(endpoints=sorted(chosen.values(), key=lambda e: (e.name_sort_key, e.code)),
                      excluded=list(excluded.values()), selection=selection)


def _units_below(unit_ids, on_day):
    """The ids of the units whose sites the chosen units name: on a day, through the successions
    (registry.succession.site_unit_ids_on: a former district names the sites now under its successors)."""
    if on_day is not None:
        return succession.site_unit_ids_on(unit_ids, on_day, registry.descendant_ids_select)
    ids = set()
    for unit_id in unit_ids:
        ids.update(db.session.scalars(registry.descendant_ids_select(unit_id)))
    return ids


def _id_list(raw, name, errors):
    if raw in (None, ""):
        return []
    if isinstance(raw, (int, str)):
        raw = [raw]
    if not isinstance(raw, (list, tuple, set)):
        errors[name] = N_("Cần một danh sách mã số.")
        return []
    ids = []
    for item in raw:
        try:
            value = as_id(item)
            if value is None:
                raise ValueError(item)
        except ValueError:
            errors[name] = N_("Mã số phải là số nguyên dương (không phải true, 30.5 hay chuỗi chữ).")
            return []
        if value == 0:  # 0, or out of range: no row has it; say the number as sent
            errors[name] = say(_MISSING[name], number=str(item).strip())
            return []
        ids.append(value)
    return list(dict.fromkeys(ids))


#: what a list of ids names when one of them has no row, by the list's name
_MISSING = {"endpoint_ids": N_("Không có điểm cầu mã số %(number)s."),
            "unit_ids": N_("Không có đơn vị mã số %(number)s."),
            "group_ids": N_("Không có nhóm mã số %(number)s.")}


# -- what the booking form offers ----------------------------------------------------------


def district_label(unit):
    """Return the district a site is shown with ("Bình Gia" for a commune of Huyện Bình Gia), or "" at province level.

    Commune names repeat inside a province (Hòa Bình ×4), so a chair or a site
    is named with its district. "Huyện " is dropped as the issue's pickers show
    it; a city or town keeps its kind ("Thành phố Lạng Sơn" is not the province). The district is the one every
    page groups a site under (registry.areas.district_of: since 2025 a commune's former district), so that the
    four "UBND xã Hòa Bình" of the demo still read apart.
    """
    head = areas.district_of(unit)
    if head.level == "province":
        return ""
    prefix = "huyện "
    return head.name[len(prefix):] if head.name.lower().startswith(prefix) else head.name


#: past this many sites on offer the booking form's pickers search the server (`find_site_options`) rather
#: than carry every site in the page: a province's 213 stay in the page, the country's 10,000 do not
PICKER_INLINE_SITES = 400
#: past this many communes the booking form's unit tree shows its districts (or provinces) and fetches a
#: district's communes when it is opened (`booking.unit_children`)
TREE_INLINE_UNITS = 400
#: past this many units under the provinces (a country's districts, not a province's 65 communes or 11 districts)
#: the unit tree lists provinces, each with its districts, rather than every district with its communes
TREE_GROUPS = 100
#: the most sites one picker search answers with (the list a person reads before typing more)
PICKER_FOUND_SITES = 50


def site_options(kept_ids=(), only_ids=None):
    """Return the sites the booking form offers, sorted as Vietnamese: [{id, name, code, status, district, search}].

    Active sites, plus kept_ids (a meeting's own sites, still shown when in
    maintenance or retired); only_ids (a set) narrows them to those, for a
    form whose pickers search the server and carry only what is chosen.
    `search` is the endpoint's search key (folded name and code) and its
    folded district, which a picker matches typed text against (text.fold:
    "hoa binh" finds "Hòa Bình"). Three queries whatever the count: the
    sites, their units, the units' parents.
    """
    query = (sa.select(Endpoint.id, Endpoint.name, Endpoint.code, Endpoint.status, Endpoint.unit_id, Endpoint.search_key)
             .where(sa.or_(Endpoint.status == "active", Endpoint.id.in_(list(kept_ids))))
             .order_by(Endpoint.name_sort_key, Endpoint.code))
    if only_ids is not None:
        query = query.where(Endpoint.id.in_(list(only_ids)))
    rows = db.session.execute(query).all()
    units = _units_with_parents({row.unit_id for row in rows})
    options = []
    for row in rows:
        district = district_label(units[row.unit_id]) if row.unit_id in units else ""
        options.append({"id": row.id, "name": row.name, "code": row.code, "status": row.status,
                        "district": district, "search": f"{row.search_key} {fold(district)}".strip()})
    return options


def offered_site_count(kept_ids=()):
    """Return how many sites the booking form offers (site_options' count, in one query)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Endpoint).where(
        sa.or_(Endpoint.status == "active", Endpoint.id.in_(list(kept_ids)))))


def find_site_options(q, limit=PICKER_FOUND_SITES):
    """Return up to `limit` active sites whose folded name or code holds every word of q, best first.

    The shape of site_options; the search and its order are the registry's
    (`search_endpoints`: accent-blind, same accents first, then Vietnamese order).
    """
    ids = db.session.scalars(registry.search_endpoints(q, status="active").with_only_columns(Endpoint.id)
                             .limit(limit)).all()
    by_id = {option["id"]: option for option in site_options(only_ids=ids)}
    return [by_id[i] for i in ids if i in by_id]


def _units_with_parents(unit_ids):
    """Load the units and their parents in two queries: {id: unit}."""
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(unit_ids)))}
    parent_ids = {u.parent_id for u in units.values() if u.parent_id is not None} - set(units)
    if parent_ids:
        db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_(parent_ids))).all()  # into the identity map
    return units


def unit_options(on_day):
    """Return the unit tree valid on `on_day` (the meeting's day) by district: [(district, [commune, ...])],
    each with its site count; since 01/7/2025 Lạng Sơn has no district, so its communes follow the province.

    district and commune are (unit, count): count is the active sites in the
    unit and everything below it. The province (and any unit above district
    level) comes first with no communes: ticking it is the whole province's units.
    """
    counts = dict(db.session.execute(
        sa.select(Endpoint.unit_id, sa.func.count()).where(Endpoint.status == "active").group_by(Endpoint.unit_id)).all())
    tree = registry.unit_tree(on_day)
    below = {}
    path = []
    for unit, depth in tree:
        del path[depth:]
        path.append(unit)
        for holder in path:
            below[holder.id] = below.get(holder.id, 0) + counts.get(unit.id, 0)
    groups = []
    if sum(1 for _unit, depth in tree if depth == 1) > TREE_GROUPS:
        # the country: its ~700 districts are no list to scroll; its provinces, each with its districts (fetched
        # when opened, TREE_INLINE_UNITS), and a commune chosen through the sites picker
        for unit, depth in tree:
            if depth == 0 or not groups:
                groups.append(((unit, below[unit.id]), []))
            elif depth == 1:
                groups[-1][1].append((unit, below[unit.id]))
        return groups
    for unit, depth in tree:
        if depth == 0 or unit.level != "commune" and depth == 1 or not groups:
            groups.append(((unit, below[unit.id]), []))
        else:
            groups[-1][1].append((unit, below[unit.id]))
    return groups


def covering_units(endpoint_ids, on_day, offered=None):
    """Return (unit ids, other site ids): a meeting's sites as the booking form's unit tree ticks them.

    The fewest units of the tree valid on `on_day` whose active sites (theirs and their units' below)
    are all among endpoint_ids, each the highest such; the sites no such unit holds (in a unit only
    partly chosen, or not active) stay site by site. Booking those units again gives the same sites
    (resolve_sites: a unit's active sites). The form's edit of a large meeting uses it, so that its
    pickers carry a few units rather than 10,000 sites. offered: the unit ids the form's tree shows (a unit
    outside it is not ticked, its sites stay one by one). Three queries.
    """
    chosen = set(endpoint_ids)
    unit_of = dict(db.session.execute(sa.select(Endpoint.id, Endpoint.unit_id).where(Endpoint.status == "active")).all())
    active, inside = defaultdict(int), defaultdict(int)
    for endpoint_id, unit_id in unit_of.items():
        active[unit_id] += 1
        inside[unit_id] += endpoint_id in chosen
    tree = registry.unit_tree(on_day)
    below_active, below_inside, path = defaultdict(int), defaultdict(int), []
    for unit, depth in tree:
        del path[depth:]
        path.append(unit)
        for holder in path:
            below_active[holder.id] += active.get(unit.id, 0)
            below_inside[holder.id] += inside.get(unit.id, 0)
    picked, held, taken_at = [], set(), None
    for unit, depth in tree:
        if taken_at is not None and depth > taken_at:
            held.add(unit.id)  # under a unit already ticked
            continue
        taken_at = None
        if below_active[unit.id] and below_inside[unit.id] == below_active[unit.id] and (
                offered is None or unit.id in offered):
            picked.append(unit.id)
            held.add(unit.id)
            taken_at = depth
    rest = [i for i in endpoint_ids if unit_of.get(i) not in held]
    return picked, rest
