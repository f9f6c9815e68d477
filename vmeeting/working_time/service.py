"""The working calendar: is this day a working day, is this instant working time?

One place answers it for every rule that asks (the booking rules, the slot
finder, the demo loader). A day is a working day when it is Monday to Friday,
not a public holiday and not declared off, or when it is declared a working
day. Public holidays come from the `holidays` package (Bộ luật Lao động 2019,
Điều 112: Tết Dương lịch, Tết Âm lịch, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc
khánh), whose lunar dates follow the Vietnamese calendar; what the government
declares each year beside them (nghỉ bù, làm bù) is kept in `declared_days`.
Working hours are the configured blocks (`WORKING_HOURS`, local wall-clock
time; DOMAIN.md: 07:30–11:30 and 13:30–17:00).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale

from vmeeting.audit import service as audit
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.text import N_, clean, say
from vmeeting.core.timefmt import WEEKDAYS_VI, local_zone, to_local
from vmeeting.working_time.models import DECLARED_KINDS, DeclaredDay

#: the kinds of the days the `holidays` package gives: a public holiday; the day off in lieu of one that fell on
#: a weekend (Điều 112 khoản 3); a working day the Prime Minister's yearly notice swaps with a Saturday, which
#: is then worked (làm bù)
PUBLIC_KINDS = ("holiday", "in_lieu", "swapped_day_off", "swapped_working_day")
KINDS = (*PUBLIC_KINDS, *DECLARED_KINDS)
KIND_LABELS = {"holiday": N_("Ngày lễ, Tết"), "in_lieu": N_("Nghỉ bù"), "swapped_day_off": N_("Ngày nghỉ hoán đổi"),
               "swapped_working_day": N_("Làm bù"),
               "day_off": N_("Ngày nghỉ (nghỉ bù)"), "working_day": N_("Ngày làm việc bù")}
#: the years the calendar answers for; far outside them nothing is booked anyway
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: the names the `holidays` package gives Vietnam's public holidays, marked for the catalogue so that a message
#: naming one (a sitting booked on it) reads in the page's language; one not here is shown in Vietnamese
HOLIDAY_NAMES = (N_("Tết Dương lịch"), N_("Giao thừa Tết Nguyên Đán"), N_("Tết Nguyên Đán"),
                 N_("Mùng hai Tết Nguyên Đán"), N_("Mùng ba Tết Nguyên Đán"), N_("Mùng bốn Tết Nguyên Đán"),
                 N_("Mùng năm Tết Nguyên Đán"), N_("Mùng sáu Tết Nguyên Đán"), N_("29 Tết"),
                 N_("Ngày Giỗ Tổ Hùng Vương"), N_("Ngày Chiến thắng"), N_("Ngày Quốc tế Lao động"), N_("Quốc khánh"),
                 N_("Ngày Văn hóa Việt Nam"))
_IN_LIEU = " (nghỉ bù)"
_SUBSTITUTE = re.compile(r"Ngày nghỉ \(thay cho ngày (\d\d/\d\d/\d{4})\)")


@lru_cache(maxsize=256)
def public_holidays(year, language="vi"):
    """Return {date: name} of Vietnam's public holidays in a year (the `holidays` package).

    language: "vi" (the default: what the rules, mails and files use) or
    "en_US" (the English pages: the package has the names in both).
    """
    return dict(holidays.country_holidays("VN", years=year, language=language))


def holiday_sentence(name):
    """A public holiday's Vietnamese name (the `holidays` package's) as a Sentence a page can say in English.

    'Quốc khánh (nghỉ bù)' is the day in lieu of a holiday, 'Ngày nghỉ (thay cho ngày 04/05/2024)' a day off
    swapped for a working day; any other name is one of HOLIDAY_NAMES (or stays Vietnamese on the page).
    """
    if name.endswith(_IN_LIEU):
        return say("%(holiday)s (nghỉ bù)", holiday=holiday_sentence(name[:-len(_IN_LIEU)]))
    swapped = _SUBSTITUTE.fullmatch(name)
    if swapped:
        return say("Ngày nghỉ (thay cho ngày %(day)s)", day=swapped[1])
    return say(name)


def public_kind(name):
    """Return the kind (PUBLIC_KINDS) of a day off the `holidays` package names: in_lieu for 'Quốc khánh (nghỉ bù)',
    swapped_day_off for 'Ngày nghỉ (thay cho ngày 04/05/2024)', holiday for any other."""
    if name.endswith(_IN_LIEU):
        return "in_lieu"
    return "swapped_day_off" if _SUBSTITUTE.fullmatch(name) else "holiday"


@lru_cache(maxsize=256)
def swapped_working_days(year):
    """Return {Saturday: the day off it is worked for} of the year's weekend days worked in exchange (làm bù).

    The `holidays` package names each swapped day off after the Saturday it is
    worked on ('Ngày nghỉ (thay cho ngày 04/05/2024)': 29/04/2024 off, Saturday
    04/05/2024 worked); a swap may cross the new year, so the years beside are read too.
    """
    found = {}
    for other in (year - 1, year, year + 1):
        if not FIRST_YEAR <= other <= LAST_YEAR:
            continue
        for day_off, name in public_holidays(other).items():
            swapped = _SUBSTITUTE.fullmatch(name)
            if swapped:
                worked = datetime.strptime(swapped[1], "%d/%m/%Y").date()
                if worked.year == year:
                    found[worked] = day_off
    return found


def swapped_working_name(day_off):
    """The name of a Saturday worked in exchange for `day_off`, as a Sentence: 'Làm bù cho ngày 29/04/2024'."""
    return say("Làm bù cho ngày %(day)s", day=f"{day_off:%d/%m/%Y}")


def holiday_reason(day):
    """The name of the public holiday on a day, as a Sentence (holiday_sentence)."""
    return holiday_sentence(public_holidays(day.year)[day])


def holiday_names_for_page(year):
    """{date: name} of the year's public holidays in the page's language (flask_babel's locale)."""
    locale = get_locale()
    return public_holidays(year, "en_US" if locale is not None and locale.language == "en" else "vi")


def working_blocks():
    """Return the working hours as [(time, time)] of local wall-clock time, earliest first."""
    return sorted((time.fromisoformat(a), time.fromisoformat(b)) for a, b in current_app.config["WORKING_HOURS"])


@dataclass(frozen=True)
class DayInfo:
    """What the calendar says of one local day."""

    day: date
    is_working: bool
    #: holiday (any day off the `holidays` package gives), day_off, working_day, swapped_working_day,
    #: weekend, or None for an ordinary working day
    kind: str = None
    name: str = ""

    @property
    def reason(self):
        """Why the day is not a working day, in Vietnamese ('' for a working day).

        A weekday's or a public holiday's name is a Sentence (text.say), which a page says in its
        language; a declared day's name is as the administrator typed it.
        """
        if self.is_working:
            return ""
        if self.kind == "weekend":
            return say(WEEKDAYS_VI[self.day.weekday()])
        if self.kind == "holiday":
            return holiday_sentence(self.name)
        return self.name


class WorkingCalendar:
    """The calendar over a span of days, read once: public holidays and the declared days in it."""

    def __init__(self, first_day, last_day):
        self.first_day, self.last_day = first_day, last_day
        self.declared = {row.day: row for row in db.session.scalars(
            sa.select(DeclaredDay).where(DeclaredDay.day >= first_day, DeclaredDay.day <= last_day))}
        self.blocks = working_blocks()

    def day(self, day):
        """Return the DayInfo of a local day (inside the span read)."""
        declared = self.declared.get(day)
        if declared is not None:
            return DayInfo(day, declared.kind == "working_day", declared.kind, declared.name)
        name = public_holidays(day.year).get(day) if FIRST_YEAR <= day.year <= LAST_YEAR else None
        if name:
            return DayInfo(day, False, "holiday", name)
        if day.weekday() >= 5:
            day_off = swapped_working_days(day.year).get(day) if FIRST_YEAR <= day.year <= LAST_YEAR else None
            if day_off is not None:
                return DayInfo(day, True, "swapped_working_day", swapped_working_name(day_off))
            return DayInfo(day, False, "weekend")
        return DayInfo(day, True)

    def is_working_day(self, day):
        return self.day(day).is_working

    def reason_outside(self, starts_at, ends_at):
        """Why [starts_at, ends_at) is not working time, in Vietnamese, without the date; '' when it is.

        The reason is a Sentence (text.say) holding the day's reason as one too, so a page that shows it
        through text.shown says it in its language.

        Working time: a working day's sitting that starts inside a block of
        working hours and ends by the day's last closing time. A sitting may run
        through the lunch break (a full-day conference, 08:00-17:00, is ordinary
        work), but one that starts during the break, before opening, or ends
        after closing or on another day is outside the hours.
        """
        local_start, local_end = to_local(starts_at), to_local(ends_at)
        info = self.day(local_start.date())
        if not info.is_working:
            return say("%(reason)s, không phải ngày làm việc", reason=info.reason)
        day = local_start.date()
        closing = datetime.combine(day, self.blocks[-1][1], tzinfo=local_zone())
        starts_inside = any(
            datetime.combine(day, opens, tzinfo=local_zone()) <= local_start
            < datetime.combine(day, closes, tzinfo=local_zone())
            for opens, closes in self.blocks)
        if starts_inside and local_end <= closing:
            return ""
        return say("ngoài giờ làm việc (%(hours)s)", hours=hours_text())

    def working_days(self):
        """Yield the working days of the span, in order."""
        day = self.first_day
        while day <= self.last_day:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)


def calendar_between(starts_at, ends_at):
    """Return the WorkingCalendar covering the local days of two instants (a day of margin each side)."""
    return WorkingCalendar(to_local(starts_at).date() - timedelta(days=1), to_local(ends_at).date() + timedelta(days=1))


def day_info(day):
    """Return the DayInfo of one local day."""
    return WorkingCalendar(day, day).day(day)


def is_working_day(day):
    """True when the local day is a working day."""
    return day_info(day).is_working


def is_working_time(starts_at, ends_at=None):
    """True when the instant (or the whole interval) is working time."""
    ends_at = ends_at or starts_at
    return not calendar_between(starts_at, ends_at).reason_outside(starts_at, ends_at)


def next_working_days(after_day, count):
    """Return the next `count` working days after a local day."""
    found, first = [], after_day + timedelta(days=1)
    while len(found) < count:
        span = WorkingCalendar(first, first + timedelta(days=60))
        found += list(span.working_days())[: count - len(found)]
        first += timedelta(days=61)
    return found


def hours_text():
    """The working hours as people read them: '07:30–11:30, 13:30–17:00'."""
    return ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in working_blocks())


# -- the year's calendar and its declared days ---------------------------------------------


def year_items(year):
    """Return the year's non-ordinary days: [{date, name, kind}] by date.

    kind (KIND_LABELS): holiday (public holiday, Tết included), in_lieu (nghỉ
    bù: the weekday off for a holiday that fell on a weekend), swapped_day_off
    (a working day swapped off by the government's notice) and
    swapped_working_day (the Saturday worked in exchange, làm bù), all from the
    `holidays` package; day_off and working_day (declared here). A declared day
    replaces the package's on the same date.
    """
    check_year(year)
    calendar = WorkingCalendar(date(year, 1, 1), date(year, 12, 31))
    days = {day: (public_kind(name), name) for day, name in public_holidays(year).items()}
    days.update({day: ("swapped_working_day", swapped_working_name(day_off))
                 for day, day_off in swapped_working_days(year).items()})
    days.update({day: (row.kind, row.name) for day, row in calendar.declared.items()})
    return [{"date": day.isoformat(), "name": name, "kind": kind} for day, (kind, name) in sorted(days.items())]


def check_year(year):
    """Raise ValidationError unless the year is one the calendar answers for."""
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError({"year": say("Năm từ %(first)s đến %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)})


def parse_day(value, field="date"):
    """Return the date of 'YYYY-MM-DD' (or a date), or raise ValidationError naming the field."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError({field: say("Ngày theo dạng YYYY-MM-DD, năm từ %(first)s đến %(last)s.",
                                         first=FIRST_YEAR, last=LAST_YEAR)})
    return day


def declare_day(data, actor=None):
    """Declare a day off (nghỉ bù) or a working day (làm bù); raise ValidationError or Conflict.

    data: {date: 'YYYY-MM-DD' or date, kind: day_off|working_day, name}. A day
    off must be a weekday that is not already a holiday; a working day must be a
    Saturday or Sunday (Bộ luật Lao động 2019, Điều 112: a day off in lieu is
    made up on a weekend). Flushes; the caller commits.
    """
    errors = {}
    try:
        day = parse_day(data.get("date"))
    except ValidationError as exc:
        errors.update(exc.fields)
        day = None
    kind = data.get("kind")
    if kind not in DECLARED_KINDS:
        errors["kind"] = N_("Chọn «day_off» (ngày nghỉ) hoặc «working_day» (ngày làm việc bù).")
    name = data.get("name")
    name = clean(name) if isinstance(name, str) else None
    if not name:
        errors["name"] = N_("Nhập tên, ví dụ «Nghỉ bù Quốc khánh».")
    elif len(name) > 200:
        errors["name"] = N_("Tên tối đa 200 ký tự.")
    if day is not None and kind in DECLARED_KINDS:
        if kind == "working_day" and day.weekday() < 5:
            errors["date"] = N_("Ngày làm việc bù phải là Thứ Bảy hoặc Chủ Nhật.")
        elif kind == "day_off" and day.weekday() >= 5:
            errors["date"] = N_("Thứ Bảy, Chủ Nhật vốn đã là ngày nghỉ.")
        elif day in public_holidays(day.year):
            # a public holiday is a day off by law (Điều 112); no declaration turns it into a working day
            errors["date"] = say("Ngày này đã là ngày lễ (%(holiday)s).", holiday=holiday_reason(day))
    if errors:
        raise ValidationError(errors)
    if db.session.get(DeclaredDay, day) is not None:
        raise Conflict(say("Ngày %(day)s đã được khai báo; xóa khai báo cũ trước.", day=f"{day:%d/%m/%Y}"),
                       date=day.isoformat())
    row = DeclaredDay(day=day, kind=kind, name=name, created_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "create", "declared_day", None, {"date": [None, day.isoformat()], "kind": [None, kind]},
                 f"Khai báo {KIND_LABELS[kind].lower()} {day:%d/%m/%Y}: {name}")
    return row


def remove_day(day, actor=None):
    """Remove a declared day; raise ValidationError for a bad date, LookupError when none is declared."""
    day = parse_day(day)
    row = db.session.get(DeclaredDay, day)
    if row is None:
        raise LookupError(day)
    db.session.delete(row)
    db.session.flush()
    audit.record(actor, "delete", "declared_day", None, {"date": [day.isoformat(), None], "kind": [row.kind, None]},
                 f"Xóa khai báo {KIND_LABELS[row.kind].lower()} {day:%d/%m/%Y}: {row.name}")
    return row
