"""Series: checking an RRULE and laying out its sittings in local wall-clock time."""

from datetime import datetime, timedelta, timezone

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from vmeeting.core.errors import ValidationError
from vmeeting.core.text import N_, say
from vmeeting.core.timefmt import local_zone

MAX_OCCURRENCES = 520
MAX_SERIES_DAYS = 2 * 366
#: the largest gap between sittings a rule may name (every 99 days, weeks, months or years)
MAX_INTERVAL = 99
ALLOWED_FREQUENCIES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly", YEARLY: "yearly"}


def normalize_rrule(text, starts_at):
    """Return a supported, bounded RRULE in the form iCalendar stores; raise ValueError in Vietnamese.

    The ValueError's argument is an N_ or say message (vmeeting.core.text), so a page may show it in English.

    UNTIL is rewritten in UTC (RFC 5545 wants that beside a zoned DTSTART): a
    bare date means the end of that local day, a floating time is local.
    """
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if any(ch in text for ch in "\r\n:"):
        # one RRULE only: EXDATE, RDATE or a second rule belong to the sittings, not to the rule
        raise ValueError(N_("Quy tắc lặp (RRULE) chỉ gồm một dòng FREQ=…;…, không kèm EXDATE, RDATE hay dòng khác."))
    parts = []
    for part in filter(None, text.split(";")):
        key, _, value = part.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if key == "UNTIL":
            value = _until_utc(value)
        parts.append(f"{key}={value}")
    text = ";".join(parts)
    keys = [part.split("=")[0] for part in parts]
    if len(keys) != len(set(keys)):
        raise ValueError(N_("Mỗi phần của quy tắc lặp (RRULE) chỉ được ghi một lần (RFC 5545, mục 3.3.10)."))
    interval = dict(part.split("=", 1) for part in parts if "=" in part).get("INTERVAL", "1")
    if not (interval.isascii() and interval.isdigit() and 1 <= int(interval) <= MAX_INTERVAL):
        raise ValueError(say("INTERVAL phải là số nguyên từ 1 đến %(most)s.", most=MAX_INTERVAL))
    try:
        rule = rrulestr(text, dtstart=starts_at.astimezone(local_zone()))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(say("Quy tắc lặp (RRULE) không hợp lệ: %(error)s", error=str(exc))) from None
    if not isinstance(rule, rrule):
        raise ValueError(N_("Quy tắc lặp (RRULE) chỉ gồm một quy tắc."))
    if rule._freq not in ALLOWED_FREQUENCIES:
        raise ValueError(N_("Chỉ hỗ trợ lặp hằng ngày, hằng tuần, hằng tháng hoặc hằng năm."))
    if rule._count is None and rule._until is None:
        raise ValueError(N_("Lịch lặp cần ngày kết thúc (UNTIL) hoặc số lần (COUNT)."))
    if any(part.split("=")[0] in ("BYHOUR", "BYMINUTE", "BYSECOND") for part in parts):
        # a series sits at most once a day, at the meeting's own hour: a change finds each sitting by its day
        raise ValueError(N_("Một chuỗi họp chỉ họp một buổi mỗi ngày, vào giờ của cuộc họp; "
                            "không dùng BYHOUR, BYMINUTE hay BYSECOND."))
    return text


def _until_utc(value):
    try:
        if len(value) == 8:
            local = datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=local_zone())
        elif value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").strftime("%Y%m%dT%H%M%SZ")
        else:
            local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=local_zone())
    except ValueError:
        raise ValueError(N_("UNTIL phải có dạng YYYYMMDD hoặc YYYYMMDDTHHMMSSZ.")) from None
    return local.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def expand_series(starts_at, ends_at, recurrence):
    """Return [(original_start, start, end)] in UTC for a single meeting or a series.

    The rule runs on local wall-clock time, so "every Monday 08:00" stays
    08:00 in Asia/Ho_Chi_Minh whatever the offset.
    """
    if not recurrence:
        return [(starts_at, starts_at, ends_at)]
    duration = ends_at - starts_at
    local_start = starts_at.astimezone(local_zone())
    limit = local_start + timedelta(days=MAX_SERIES_DAYS)
    result = []
    for local in rrulestr(recurrence, dtstart=local_start):
        if local > limit or len(result) >= MAX_OCCURRENCES:
            raise ValidationError({"recurrence": say("Lịch lặp tối đa %(most)s lần và 2 năm.", most=MAX_OCCURRENCES)})
        start = local.astimezone(timezone.utc)
        result.append((start, start, start + duration))
    if not result:
        raise ValidationError({"recurrence": N_("Quy tắc lặp không cho buổi họp nào.")})
    return result


# -- a series in words ----------------------------------------------------------------------

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"), _l("Thứ Bảy"),
                 _l("Chủ Nhật"))
ORDINALS = {1: _l("đầu tiên"), 2: _l("thứ hai"), 3: _l("thứ ba"), 4: _l("thứ tư"), -1: _l("cuối cùng")}


def rule_parts(rule):
    """Return {KEY: VALUE} of an RRULE text (upper case, without 'RRULE:')."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return dict(part.upper().split("=", 1) for part in text.split(";") if "=" in part)


def _by_day(value):
    """'1MO' -> (1, 0); 'FR' -> (None, 4); raise ValueError for anything else."""
    ordinal, code = value[:-2], value[-2:]
    return (int(ordinal) if ordinal else None), WEEKDAY_CODES.index(code)


#: the parts of a rule that _pattern puts into words; a rule with any other (BYWEEKNO, BYYEARDAY, BYHOUR…)
#: is described only by how often it repeats, rather than wrongly
DESCRIBED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYSETPOS"}
WORKING_WEEK = {"MO", "TU", "WE", "TH", "FR"}


def _pattern(parts, first_local):
    """The repeat, in words, without the count and dates: 'Hằng tuần vào Thứ Sáu'."""
    frequency = parts.get("FREQ")
    interval = int(parts.get("INTERVAL", "1"))
    undescribed = {key for key in parts if not key.startswith("X-")} - DESCRIBED_PARTS  # X-: extensions, no rule
    if undescribed or ("BYSETPOS" in parts and frequency != "MONTHLY"):
        return _generic(frequency, interval)
    if frequency == "DAILY":
        return _("Hằng ngày") if interval == 1 else _("%(n)s ngày một lần", n=interval)
    if frequency == "WEEKLY":
        codes = parts["BYDAY"].split(",") if "BYDAY" in parts else [WEEKDAY_CODES[first_local.weekday()]]
        days = ", ".join(str(WEEKDAY_NAMES[_by_day(code)[1]]) for code in codes)
        if interval == 1:
            return _("Hằng tuần vào %(days)s", days=days)
        return _("%(n)s tuần một lần vào %(days)s", n=interval, days=days)
    if frequency == "MONTHLY":
        every = _("Hằng tháng") if interval == 1 else _("%(n)s tháng một lần", n=interval)
        if "BYSETPOS" in parts:
            # the first or last working day of the month (RFC 5545 §3.3.10: BYSETPOS picks among the BYDAY set)
            if set(parts.get("BYDAY", "").split(",")) == WORKING_WEEK and parts["BYSETPOS"] in ("1", "-1"):
                nth = ORDINALS[int(parts["BYSETPOS"])]
                return _("%(every)s vào ngày làm việc %(nth)s của tháng", every=every, nth=nth)
            return _generic(frequency, interval)
        if parts.get("BYMONTHDAY") == "-1":
            return _("%(every)s vào ngày cuối tháng", every=every)
        if "BYDAY" in parts and "," not in parts["BYDAY"]:
            ordinal, weekday = _by_day(parts["BYDAY"])
            if ordinal in ORDINALS:
                return _("%(every)s vào %(day)s %(nth)s", every=every, day=WEEKDAY_NAMES[weekday],
                         nth=ORDINALS[ordinal])
        if "BYDAY" in parts:  # a fifth Monday, several weekdays: never "on day N" of the first sitting
            return _generic(frequency, interval)
        day = parts.get("BYMONTHDAY", str(first_local.day))
        if not day.isdigit():  # -2 (the day before last), several days: no words for them
            return _generic(frequency, interval)
        return _("%(every)s vào ngày %(day)s", every=every, day=day)
    if frequency == "YEARLY" and not parts.keys() & {"BYDAY", "BYMONTHDAY"}:
        return _("Hằng năm vào ngày %(day)s", day=first_local.strftime("%d/%m"))
    return _generic(frequency, interval)


def _generic(frequency, interval):
    """How often a rule repeats, for a rule whose finer parts are not put into words."""
    unit = {"DAILY": _("ngày"), "WEEKLY": _("tuần"), "MONTHLY": _("tháng"), "YEARLY": _("năm")}.get(frequency)
    if unit is None:
        return _("Lặp lại")
    if interval == 1:
        return _("Lặp lại mỗi %(unit)s, theo quy tắc riêng", unit=unit)
    return _("Lặp lại %(n)s %(unit)s một lần, theo quy tắc riêng", n=interval, unit=unit)


def describe_series(rule, sittings):
    """The series in words, in the reader's language: 'Hằng tuần vào Thứ Sáu, 8 buổi (11/12/2026 – 29/01/2027)'.

    sittings: the starts (aware) of the sittings that take place, in any order.
    Returns '' for a single meeting.
    """
    if not rule:
        return ""
    starts = sorted(start.astimezone(local_zone()) for start in sittings)
    try:
        pattern = _pattern(rule_parts(rule), starts[0] if starts else datetime.now(local_zone()))
    except (ValueError, KeyError, IndexError):
        pattern = _("Lặp lại")
    if not starts:
        return pattern
    count = ngettext("%(num)s buổi", "%(num)s buổi", len(starts))
    return f"{pattern}, {count} ({starts[0]:%d/%m/%Y} – {starts[-1]:%d/%m/%Y})"


def short_month_warning(rule, starts_at):
    """Warn, in words, when a plain monthly rule on the 29th–31st meets months without that day; '' otherwise.

    dateutil (like RFC 5545, section 3.3.10) leaves those months out rather than moving the sitting.
    """
    if not rule:
        return ""
    parts = rule_parts(rule)
    if parts.get("FREQ") != "MONTHLY" or "BYDAY" in parts or "BYSETPOS" in parts:
        return ""
    if parts.get("BYMONTHDAY", "").startswith("-"):
        return ""  # counted from the month's end: every month has a last day
    day = int(parts["BYMONTHDAY"]) if parts.get("BYMONTHDAY", "").isdigit() else starts_at.astimezone(local_zone()).day
    if day < 29:
        return ""
    return _("Tháng nào không có ngày %(day)s sẽ không họp (ví dụ tháng 2). Muốn họp mọi tháng, hãy chọn "
             "«ngày cuối tháng».", day=day)
