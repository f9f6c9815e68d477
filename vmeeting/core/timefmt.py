"""Instants shown and entered in the configured zone (DOMAIN.md: dd/mm/yyyy, 24-hour)."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from vmeeting.core.bounds import check_instant

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
#: the same names in the page's language (mails keep WEEKDAYS_VI: they go out in Vietnamese)
WEEKDAY_LABELS = (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"), _l("Thứ Bảy"),
                  _l("Chủ Nhật"))


def local_zone():
    """Return the zone in which people enter and read times."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(instant):
    """Return an aware instant in the local zone."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(local_zone())


def local_to_utc(naive_local):
    """Return the UTC instant of a wall-clock time entered in the local zone."""
    return naive_local.replace(tzinfo=local_zone()).astimezone(timezone.utc)


def format_date(instant):
    """dd/mm/yyyy in the local zone."""
    return to_local(instant).strftime("%d/%m/%Y") if instant else ""


def format_datetime(instant):
    """dd/mm/yyyy HH:MM in the local zone."""
    return to_local(instant).strftime("%d/%m/%Y %H:%M") if instant else ""


def format_time(instant):
    """HH:MM in the local zone."""
    return to_local(instant).strftime("%H:%M") if instant else ""


def weekday_vi(instant):
    """Thứ Hai … Chủ Nhật of the local day."""
    return WEEKDAYS_VI[to_local(instant).weekday()]


def weekday_label(instant):
    """The local day's weekday in the page's language (the templates' `weekday` filter)."""
    return str(WEEKDAY_LABELS[to_local(instant).weekday()])


def parse_api_instant(text):
    """Parse ISO 8601 with an offset, within bounds.MIN_DAY..MAX_DAY; raise ValueError for anything else."""
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("the time needs an offset, e.g. 2026-03-02T08:00:00+07:00")
    return check_instant(value).astimezone(timezone.utc)


def register(app):
    """Install the filters the templates use."""
    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        time=format_time,
        weekday=weekday_label,
        isoinstant=datetime.fromisoformat,
    )
