"""What a giấy mời says, worked out from the booking: the template's context (every docxtpl tag it may use).

`letter_context(meeting, letter, basis, today)` returns a dict of plain
strings and lists (NFC) that the default template (documents.template_build)
and an office's own fill. The content is the one Quyết định 45/2018/QĐ-TTg
(Quy chế làm việc... họp, Điều 19–20) asks of a meeting's invitation: who
chairs, who attends per level, the agenda, the time with its weekday, the
place per level, what the attendees must do, a contact; the date line is
that of Nghị định 30/2020/NĐ-CP, Phụ lục I, Mục II.4 (a zero before days
1–9 and months 1–2).
"""

import re
import unicodedata
from datetime import date, timedelta


from vmeeting.booking.service import sites_by_district
from vmeeting.core.timefmt import format_date, to_local, weekday_vi
from vmeeting.registry.areas import count_site_levels

#: attendees are at their site this long before the start
ARRIVE_EARLY_MINUTES = 15
#: what stands where the clerk has not said yet: the draft shows it, Word finds it
MISSING = "…"
#: a number iOffice has not given yet: room for the văn thư to write it
NUMBER_BLANK = "      "
LEVEL_WORDS = {"province": "cấp tỉnh", "district": "cấp huyện", "commune": "cấp xã"}
DEFAULT_RECIPIENTS = ("Như thành phần mời", "Các điểm cầu tại Phụ lục")
#: a sitting's list in the time line stops at this many, then counts the rest
SITTINGS_LISTED = 12


#: what XML 1.0 (§2.2) does not allow in a document: the C0 controls but tab and line ends, lone surrogates,
#: U+FFFE and U+FFFF. docxtpl parses the filled XML again with lxml's recover mode, which silently cuts the
#: text at such a character ("UBND \x01 <b>&" came out as "UBND bamp;"): they go before the template sees them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def nfc(value):
    """Return value with every string in it in Unicode NFC and without the characters XML 1.0 forbids
    (`_NOT_XML`; they come from anywhere a title, a site's name or a clerk's field was typed); dicts, lists
    and tuples walked."""
    if isinstance(value, str):
        return _NOT_XML.sub("", unicodedata.normalize("NFC", value))
    if isinstance(value, dict):
        return {key: nfc(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [nfc(item) for item in value]
    return value


def formal_date(day, place):
    """'Lạng Sơn, ngày 05 tháng 02 năm 2027': a zero before days 1–9 and months 1 and 2 only (Phụ lục I, II.4)."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def clock(instant):
    """'08 giờ 00' in local time."""
    local = to_local(instant)
    return f"{local.hour:02d} giờ {local.minute:02d}"


def place_of(meeting):
    """The place before the date: the chair's province, without 'Tỉnh' or 'Thành phố'."""
    unit, seen = meeting.chair.unit, 0
    while unit.parent is not None and seen < 5:
        unit, seen = unit.parent, seen + 1
    for prefix in ("Tỉnh ", "Thành phố "):
        if unit.name.startswith(prefix):
            return unit.name[len(prefix):]
    return unit.name


def site_label(endpoint):
    return f"{endpoint.name}, {endpoint.address}" if endpoint.address else endpoint.name


def basis_line(basis):
    """'Thực hiện văn bản số 125/UBND-KGVX ngày 20/01/2027 của … về việc …,', or '' without a basis document."""
    if basis is None:
        return ""
    summary = basis.summary.strip().rstrip(".;,")
    for prefix in ("V/v ", "v/v ", "Về việc ", "về việc "):
        if summary.startswith(prefix):
            summary = summary[len(prefix):]
            break
    return (f"Thực hiện văn bản số {basis.number} ngày {basis.issued_on:%d/%m/%Y} của {basis.issuer} "
            f"về việc {summary},")


def weekday(instant):
    """'thứ Năm', 'chủ nhật': the weekday as a sentence writes it."""
    name = weekday_vi(instant)
    return "thứ" + name[3:] if name.startswith("Thứ") else name.capitalize().lower()


def time_text(meeting):
    """'từ 08 giờ 00 đến 11 giờ 30, thứ Năm, ngày 05/02/2027', and for a series its other sittings."""
    text = (f"từ {clock(meeting.starts_at)} đến {clock(meeting.ends_at)}, {weekday(meeting.starts_at)}, "
            f"ngày {format_date(meeting.starts_at)}")
    live = [o for o in meeting.occurrences if o.status == "scheduled"]
    if len(live) > 1:
        shown = [f"{weekday(o.starts_at)} {format_date(o.starts_at)}" for o in live[1:SITTINGS_LISTED]]
        more = len(live) - 1 - len(shown)
        text += f"; các buổi tiếp theo cùng giờ: {', '.join(shown)}" + (f" và {more} buổi khác" if more else "")
    return text


def _groups(meeting):
    """[(group name, [endpoints])]: the annex's sites by district, the provincial ones first.

    The grouping is booking's (`sites_by_district`, through registry.areas): a
    commune's district is its parent; since the 2025 reorganisation (Nghị
    quyết 1675/NQ-UBTVQH15 for Lạng Sơn) a commune hanging from the province is
    grouped under the district most of its predecessor communes belonged to.
    Such a district had ended by the meeting's day: it is named "(địa bàn cũ)", which is how
    offices still read the province.
    """
    day = to_local(meeting.starts_at).date()
    heads = sites_by_district(meeting)
    provincial, groups = [], []
    for head, endpoints in heads:
        if head.level == "province":
            provincial.extend(endpoints)
        elif head.valid_to is not None and head.valid_to < day:
            groups.append((f"{head.name} (địa bàn cũ)", endpoints))
        else:
            groups.append((head.name, endpoints))
    head_name = next((head.name for head, _e in heads if head.level == "province"), "")
    return ([(head_name or "Cấp tỉnh", provincial)] if provincial else []) + groups


def _levels(meeting, groups):
    """{level: count} of the sites other than the chair, by registry.areas' one rule (count_site_levels: the
    unit's level; since 07/2025 no district level), as the meeting page counts them."""
    return count_site_levels((endpoint.id == meeting.chair_endpoint_id, endpoint.unit.level, 1)
                             for _name, endpoints in groups for endpoint in endpoints)["levels"]


def _technical_contact(meeting, letter):
    if letter is not None and letter.technical_contact.strip():
        return letter.technical_contact.strip()
    chair = meeting.chair
    if chair.technician is not None:
        parts = [chair.technician.display_name, chair.technician.phone and f"điện thoại {chair.technician.phone}"]
        return "đồng chí " + ", ".join(p for p in parts if p) + f" (điểm cầu {chair.name})"
    if chair.contact_name or chair.contact_phone:
        parts = [chair.contact_name, chair.contact_phone and f"điện thoại {chair.contact_phone}"]
        return ", ".join(p for p in parts if p) + f" (điểm cầu {chair.name})"
    return MISSING


def _text(letter, field, default=MISSING):
    value = (getattr(letter, field, "") or "").strip() if letter is not None else ""
    return value or default


def _number_parts(letter):
    """(number, notation) for 'Số: {number}/GM-{notation}': blank for the văn thư until iOffice numbered it."""
    notation = _text(letter, "notation", "")
    if letter is not None and letter.issued_number:
        number, _slash, rest = letter.issued_number.partition("/")
        return number, rest[3:] if rest.upper().startswith("GM-") else (rest or notation)
    return NUMBER_BLANK, notation


def recipients_lines(letter):
    """Nơi nhận, as Phụ lục I, Mục II.9 writes it: '- X;' a line, the last '- Lưu: VT.'."""
    given = [line.strip().lstrip("-").strip().rstrip(";.") for line in _text(letter, "recipients", "").splitlines()]
    given = [line for line in given if line and not line.lower().startswith("lưu")] or list(DEFAULT_RECIPIENTS)
    return [f"- {line};" for line in given] + ["- Lưu: VT."]


def letter_context(meeting, letter=None, basis=None, today=None):
    """Return the template's context for the meeting's giấy mời: {tag: str or list}, every string NFC.

    letter: its InvitationLetter (the clerk's fields; None: all defaults);
    basis: its BasisDocument or None; today: the draft's local date when not
    issued (default: today). Strings the clerk has not given are MISSING ('…').
    """
    groups = _groups(meeting)
    levels = _levels(meeting, groups)
    issuing_body = _text(letter, "issuing_body", (meeting.organizer.agency or "").strip()
                         if meeting.organizer is not None else "") or MISSING
    day = letter.issued_on if letter is not None and letter.issued_on else (today or date.today())
    number, notation = _number_parts(letter)
    chair = meeting.chair
    attendees = [{"where": f"Tại điểm cầu {chair.name}", "who": _text(letter, "attendees_province")}]
    for level, field in (("province", "attendees_province"), ("district", "attendees_district"),
                         ("commune", "attendees_commune")):
        if levels.get(level):
            who = _text(letter, field) if level != "province" else _text(letter, "attendees_province")
            attendees.append({"where": f"Tại các điểm cầu {LEVEL_WORDS[level]} ({levels[level]} điểm cầu)",
                              "who": who})
    places = [f"Điểm cầu chủ trì: {site_label(chair)}."]
    for level in ("province", "district", "commune"):
        if levels.get(level):
            places.append(f"Các điểm cầu {LEVEL_WORDS[level]} ({levels[level]} điểm cầu): "
                          "tại điểm cầu của đơn vị.")
    places.append("Danh sách các điểm cầu tại Phụ lục kèm theo.")
    setup_from = meeting.starts_at - timedelta(minutes=meeting.setup_minutes)
    duties = [
        f"Các điểm cầu bật thiết bị, kết nối và kiểm tra hình ảnh, âm thanh, đường truyền với điểm cầu chủ trì "
        f"trong thời gian chuẩn bị từ {clock(setup_from)} đến {clock(meeting.starts_at)} "
        f"({meeting.setup_minutes} phút trước giờ họp); hoàn thành trước giờ họp.",
        f"Đại biểu có mặt tại điểm cầu trước giờ họp {ARRIVE_EARLY_MINUTES} phút.",
    ]
    if len([o for o in meeting.occurrences if o.status == "scheduled"]) > 1:
        duties.append("Thời gian chuẩn bị và có mặt trên áp dụng cho mỗi buổi họp.")
    annex, counter = [], 0
    for index, (name, endpoints) in enumerate(groups, start=1):
        sites = []
        for endpoint in endpoints:
            counter += 1
            sites.append({"number": counter, "label": site_label(endpoint)
                          + (" (điểm cầu chủ trì)" if endpoint.id == meeting.chair_endpoint_id else "")})
        annex.append({"number": index, "name": name, "count": len(endpoints), "sites": sites})
    agenda = [line.strip() for line in (meeting.description or "").splitlines() if line.strip()] or [MISSING]
    context = {
        "parent_body": _text(letter, "parent_body", ""),
        "issuing_body": issuing_body,
        "number": number,
        "notation": notation or MISSING,
        "place_date": formal_date(day, place_of(meeting)),
        "summary": meeting.title,
        "basis_line": basis_line(basis),
        "inviter": issuing_body,
        "chair_person": _text(letter, "chair_person"),
        "attendees": attendees,
        "agenda": agenda,
        "time_text": time_text(meeting),
        "places": places,
        "duties": duties,
        "technical_contact": _technical_contact(meeting, letter),
        "signer_authority": _text(letter, "signer_authority", ""),
        "signer_title": _text(letter, "signer_title"),
        "signer_name": _text(letter, "signer_name"),
        "recipients": recipients_lines(letter),
        "annex": annex,
        "annex_date": (f"ngày {letter.issued_on:%d/%m/%Y}" if letter is not None and letter.issued_on
                       else f"ngày      tháng      năm {day.year}"),
        "site_count": counter,
        "is_issued": bool(letter is not None and letter.issued_number),
    }
    return nfc(context)
