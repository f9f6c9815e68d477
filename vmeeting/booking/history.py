"""A meeting's history: what each change of it records (old and new values), and those values in words.

`meeting_changes` turns two snapshots of a meeting into the audit event's
`changes` ({field: [old, new]}, audit.service): the time as both its start and
its end whenever either moved, the sites as counts (how many before and after,
how many added and removed: a national meeting's 10,000 ids are not copied into
every event), the chair and the bridge by name as well as by id. `sitting_times`
does the same for one sitting moved. `describe` reads any meeting or sitting
event back as lines a page shows ("Giờ: 08:00–10:00 07/12/2026 → 14:00–16:00
08/12/2026"), each a `text.say` sentence: Vietnamese as a str, in the page's
language through `text.shown`.
"""

from datetime import datetime

from vmeeting.booking.priority import LABELS as PRIORITY_LABELS
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import to_local
from vmeeting.registry.models import Bridge, Endpoint

#: a field's label in a history line, in the order the lines come
LABELS = {"title": N_("Tên"), "time": N_("Giờ"), "chair": N_("Chủ tọa"), "endpoints": N_("Điểm cầu"),
          "bridge": N_("Cầu MCU"), "recurrence": N_("Lặp lại"), "setup_minutes": N_("Thời gian chuẩn bị"),
          "attendees": N_("Người dự khác"), "description": N_("Nội dung"), "status": N_("Trạng thái"),
          "priority": N_("Hạng ưu tiên"), "displaced_by": N_("Nhường điểm cầu cho")}
#: the words of a meeting's or a sitting's status
STATUS_WORDS = {"scheduled": N_("Đã lên lịch"), "cancelled": N_("Đã hủy")}


def meeting_changes(before, after):
    """Return the `changes` an update of a meeting records, from two snapshots (or {} when nothing changed).

    before, after: {field: value} as booking.changes' snapshot gives them (audit.snapshot
    of MEETING_FIELDS, instants as ISO 8601 text, and "endpoints": the sorted site ids).
    Shape: {field: [old, new]}; "starts_at" and "ends_at" both when either
    changed; "endpoints": [count before, count after], with "endpoints_added"
    and "endpoints_removed": [None, how many] when there are any;
    "chair" and "bridge": [old name, new name] beside their ids.
    """
    changes = {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after))
               if before.get(k) != after.get(k)}
    if "starts_at" in changes or "ends_at" in changes:
        for name in ("starts_at", "ends_at"):
            changes[name] = [before.get(name), after.get(name)]
    if "endpoints" in changes:
        old, new = set(before.get("endpoints") or ()), set(after.get("endpoints") or ())
        changes["endpoints"] = [len(old), len(new)]
        if new - old:
            changes["endpoints_added"] = [None, len(new - old)]
        if old - new:
            changes["endpoints_removed"] = [None, len(old - new)]
    if "chair_endpoint_id" in changes:
        changes["chair"] = [_name(Endpoint, i) for i in changes["chair_endpoint_id"]]
    if "bridge_id" in changes:
        changes["bridge"] = [_name(Bridge, i) for i in changes["bridge_id"]]
    return changes


def sitting_times(before, after):
    """Return the `changes` of a sitting moved: its start and end, old and new (ISO 8601), or {} if the same.

    before, after: (starts_at, ends_at) aware instants.
    """
    if tuple(before) == tuple(after):
        return {}
    return {"starts_at": [before[0].isoformat(), after[0].isoformat()],
            "ends_at": [before[1].isoformat(), after[1].isoformat()]}


def _name(model, row_id):
    if row_id is None:
        return None
    row = db.session.get(model, row_id)
    return row.name if row is not None else f"#{row_id}"


def describe(changes):
    """Return an event's changes as lines: [Sentence], "label: old → new" each, in LABELS' order.

    changes: an audit event's `changes` of a meeting or a sitting (create,
    update, move, cancel). A created meeting has no "old": its lines name the
    new value only. Values the event does not hold (an older event's site ids)
    are counted; the text of the agenda is not repeated, only that it changed.
    """
    lines = []
    if "starts_at" in changes or "ends_at" in changes:
        old = _span(changes.get("starts_at", [None, None])[0], changes.get("ends_at", [None, None])[0])
        new = _span(changes.get("starts_at", [None, None])[1], changes.get("ends_at", [None, None])[1])
        if old or new:  # a sitting's cancel records its start alone: its status says what happened
            lines.append(_line("time", old, new))
    if "title" in changes:
        lines.append(_line("title", *changes["title"]))
    if "chair" in changes or "chair_endpoint_id" in changes:
        lines.append(_line("chair", *changes.get("chair") or [_id(v) for v in changes["chair_endpoint_id"]]))
    if "endpoints" in changes:
        old, new = (len(v) if isinstance(v, list) else v for v in changes["endpoints"])
        line = _line("endpoints", old, new)
        added = (changes.get("endpoints_added") or [None, 0])[1]
        removed = (changes.get("endpoints_removed") or [None, 0])[1]
        if added or removed:
            line = say("%(line)s (thêm %(added)s, bớt %(removed)s)", line=line, added=added or 0, removed=removed or 0)
        lines.append(line)
    if "bridge" in changes or "bridge_id" in changes:
        lines.append(_line("bridge", *[v or say("theo cầu của từng điểm cầu") for v in
                                       changes.get("bridge") or [_id(v) for v in changes["bridge_id"]]]))
    if "recurrence" in changes:
        lines.append(_line("recurrence", *[v or say("không lặp") for v in changes["recurrence"]]))
    if "setup_minutes" in changes:
        lines.append(_line("setup_minutes", *[None if v is None else say("%(n)s phút", n=v)
                                              for v in changes["setup_minutes"]]))
    if "attendees" in changes:
        lines.append(_line("attendees", *[None if v is None else len(v) for v in changes["attendees"]]))
    if "description" in changes:
        lines.append(say("%(label)s: đã sửa", label=say(LABELS["description"])))
    if "priority" in changes:
        lines.append(_line("priority", *[None if v is None else say(PRIORITY_LABELS.get(v, v))
                                         for v in changes["priority"]]))
    if "displaced_by" in changes:
        lines.append(_line("displaced_by", *changes["displaced_by"]))
    if "status" in changes:
        lines.append(_line("status", *[None if v is None else say(STATUS_WORDS.get(v, v)) for v in changes["status"]]))
    return lines


def _line(field, old, new):
    label = say(LABELS[field])
    if old is None:
        return say("%(label)s: %(new)s", label=label, new=_text(new))
    return say("%(label)s: %(old)s → %(new)s", label=label, old=_text(old), new=_text(new))


def _text(value):
    return "—" if value in (None, "") else value


def _id(value):
    return None if value is None else f"#{value}"


def _span(starts_at, ends_at):
    """"08:00–10:00 07/12/2026" from ISO 8601 instants (a sitting over midnight names both days)."""
    if not starts_at or not ends_at:
        return None
    start, end = to_local(datetime.fromisoformat(starts_at)), to_local(datetime.fromisoformat(ends_at))
    if start.date() == end.date():
        return f"{start:%H:%M}–{end:%H:%M} {start:%d/%m/%Y}"
    return f"{start:%H:%M %d/%m/%Y}–{end:%H:%M %d/%m/%Y}"
