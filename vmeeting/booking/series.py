"""Series: checking an RRULE and laying out its sittings in local wall-clock time."""

from datetime import datetime, timedelta, timezone

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrulestr

from vmeeting.errors import ValidationError
from vmeeting.timefmt import local_zone

MAX_OCCURRENCES = 520
MAX_SERIES_DAYS = 2 * 366
ALLOWED_FREQUENCIES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly", YEARLY: "yearly"}


def normalize_rrule(text, starts_at):
    """Return a supported, bounded RRULE in the form iCalendar stores; raise ValueError in Vietnamese.

    UNTIL is rewritten in UTC (RFC 5545 wants that beside a zoned DTSTART): a
    bare date means the end of that local day, a floating time is local.
    """
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = []
    for part in filter(None, text.split(";")):
        key, _, value = part.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if key == "UNTIL":
            value = _until_utc(value)
        parts.append(f"{key}={value}")
    text = ";".join(parts)
    try:
        rule = rrulestr(text, dtstart=starts_at.astimezone(local_zone()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Quy tắc lặp (RRULE) không hợp lệ: {exc}") from None
    if rule._freq not in ALLOWED_FREQUENCIES:
        raise ValueError("Chỉ hỗ trợ lặp hằng ngày, hằng tuần, hằng tháng hoặc hằng năm.")
    if rule._count is None and rule._until is None:
        raise ValueError("Lịch lặp cần ngày kết thúc (UNTIL) hoặc số lần (COUNT).")
    first = next(iter(rule), None)
    if first is not None and first != starts_at.astimezone(local_zone()):
        # RFC 5545 §3.8.5.3 leaves a DTSTART off its rule undefined: calendar programs then disagree
        # on whether it is a sitting and on what COUNT counts, so people would see other sittings than we book.
        raise ValueError(f"Ngày bắt đầu phải là buổi đầu tiên của lịch lặp; theo quy tắc này, buổi đầu tiên "
                         f"là {first:%d/%m/%Y}.")
    if any(part.split("=")[0] in ("BYHOUR", "BYMINUTE", "BYSECOND") for part in parts):
        # a series sits at most once a day, at the meeting's own hour: a change finds each sitting by its day
        raise ValueError("Một chuỗi họp chỉ họp một buổi mỗi ngày, vào giờ của cuộc họp; "
                         "không dùng BYHOUR, BYMINUTE hay BYSECOND.")
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
        raise ValueError("UNTIL phải có dạng YYYYMMDD hoặc YYYYMMDDTHHMMSSZ.") from None
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
            raise ValidationError({"recurrence": f"Lịch lặp tối đa {MAX_OCCURRENCES} lần và 2 năm."})
        start = local.astimezone(timezone.utc)
        result.append((start, start, start + duration))
    if not result:
        raise ValidationError({"recurrence": "Quy tắc lặp không cho buổi họp nào."})
    return result
