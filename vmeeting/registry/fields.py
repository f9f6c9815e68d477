"""An endpoint's fields one by one: what each may hold, and how a value is checked and cleaned.

`FIELD_CHECKS[field](field, raw)` returns the clean value or raises ValueError
with the reason in Vietnamese, an N_ literal or a `say` sentence (vmeeting.core.text)
that a page shows in its reader's language; registry.service gathers the
reasons per field.
"""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from flask import current_app

from vmeeting.auth.models import User
from vmeeting.core.bounds import as_id
from vmeeting.core.extensions import db
from vmeeting.registry.models import (
    ENDPOINT_STATUSES,
    PROBE_METHODS,
    PROTOCOLS,
    SITE_CATEGORIES,
    TRANSPORTS,
    AdminUnit,
    Bridge,
    Endpoint,
)
from vmeeting.core.sipuri import parse_sip_uri
from vmeeting.probes.policy import saved_host_refusal
from vmeeting.core.text import N_, clean, describe_character, say

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
CODE_CHAR_RE = re.compile(r"[A-Za-z0-9._-]")
PHONE_RE = re.compile(r"^[0-9+().\s-]{6,40}$")
TEXT_LIMITS = {"name": 200, "address": 300, "contact_name": 200, "device_model": 120,
               "device_serial": 120, "platform_ref": 120, "notes": 5000}

#: in Vietnamese for files and the API; pages translate them (text.N_)
CHOICE_LABELS = {
    "status": {"active": N_("Hoạt động"), "maintenance": N_("Bảo trì"), "retired": N_("Ngừng sử dụng")},
    "probe": {"sip-options": "SIP OPTIONS", "tcp": N_("Kết nối TCP"), "none": N_("Không kiểm tra")},
    "category": {"provincial": N_("Cấp tỉnh"), "agency": N_("Sở, ngành"), "district": N_("Cấp huyện"),
                 "commune": N_("Cấp xã"), "other": N_("Khác")},
    "transport": {"tslcd": N_("Mạng TSLCD"), "wan": "WAN", "internet": "Internet"},
    "protocol": {"sip": "SIP", "h323": "H.323", "webrtc": "WebRTC"},
}
CHOICES = {
    "status": ENDPOINT_STATUSES, "probe": PROBE_METHODS, "category": SITE_CATEGORIES,
    "transport": TRANSPORTS, "protocol": PROTOCOLS,
}


def check_text(field, raw):
    value = clean(raw) if field != "notes" else ("" if raw is None else str(raw).strip())
    if len(value) > TEXT_LIMITS.get(field, 200):
        raise ValueError(say("Tối đa %(limit)s ký tự.", limit=TEXT_LIMITS.get(field, 200)))
    return value


def _check_code(field, raw):
    # Only ordinary spaces around the code go unremarked; a character pasted unseen is named.
    value = unicodedata.normalize("NFC", "" if raw is None else str(raw)).strip(" \t\r\n")
    if not value:
        raise ValueError(N_("Nhập mã điểm cầu."))
    if not CODE_RE.match(value):
        wrong = next((ch for ch in value if not CODE_CHAR_RE.match(ch)), None)
        if wrong is None:
            raise ValueError(N_("Mã chỉ gồm chữ không dấu, số và . _ - (tối đa 40 ký tự)."))
        raise ValueError(say("Mã chỉ gồm chữ không dấu, số và . _ - (tối đa 40 ký tự)."
                             " Mã có %(character)s ở vị trí %(position)s.",
                             character=describe_character(wrong), position=value.index(wrong) + 1))
    return value


def _check_name(field, raw):
    value = check_text(field, raw)
    if not value:
        raise ValueError(N_("Nhập tên điểm cầu."))
    return value


def _check_unit(field, raw):
    try:
        unit_id = as_id(raw)
    except ValueError:
        raise ValueError(N_("Mã đơn vị phải là số.")) from None
    if unit_id is None:
        raise ValueError(N_("Chọn đơn vị."))
    if db.session.get(AdminUnit, unit_id) is None:
        raise ValueError(N_("Không có đơn vị này."))
    return unit_id


def _check_bridge(field, raw):
    try:
        bridge_id = as_id(raw)
    except ValueError:
        raise ValueError(N_("Mã cầu MCU phải là số.")) from None
    if bridge_id is not None and db.session.get(Bridge, bridge_id) is None:
        raise ValueError(N_("Không có cầu MCU này."))
    return bridge_id


def _check_technician(field, raw):
    try:
        user_id = as_id(raw)
    except ValueError:
        raise ValueError(N_("Mã kỹ thuật viên phải là số.")) from None
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.role != "technician":
        raise ValueError(N_("Không có kỹ thuật viên này."))
    return user_id


def _choice_check(field, raw):
    value = clean(raw) if raw is not None else None
    if not value:
        return Endpoint.__table__.c[field].default.arg
    if value not in CHOICES[field]:
        raise ValueError(say("Phải là một trong: %(choices)s.", choices=", ".join(CHOICES[field])))
    return value


def _check_sip_uri(field, raw):
    """Refuse what the probes could not parse, and a host they will never dial (probes.policy), with the reason.

    Loopback counts as never dialled where PROBE_ALLOW_LOOPBACK is off (production's default).
    """
    value = clean(raw)
    if value:
        host = parse_sip_uri(value).host
        refusal = saved_host_refusal(host, current_app.config.get("PROBE_ALLOW_LOOPBACK", False))
        if refusal:
            raise ValueError(refusal)
    return value


def _check_phone(field, raw):
    value = clean(raw)
    if value and not PHONE_RE.match(value):
        raise ValueError(N_("Số điện thoại chỉ gồm số, dấu cách và + ( ) . -"))
    return value


def _check_emails(field, raw):
    if raw in (None, ""):
        return []
    items = re.split(r"[,;\s]+", raw) if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)):
        raise ValueError(N_("Cần một danh sách địa chỉ thư."))
    emails = []
    for item in items:
        item = clean(item)
        if not item:
            continue
        try:
            emails.append(validate_email(item, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise ValueError(say("Địa chỉ thư «%(email)s» không hợp lệ.", email=item)) from None
    return list(dict.fromkeys(emails))


FIELD_CHECKS = {
    "code": _check_code,
    "name": _check_name,
    "unit_id": _check_unit,
    "bridge_id": _check_bridge,
    "technician_id": _check_technician,
    "sip_uri": _check_sip_uri,
    "contact_phone": _check_phone,
    "contact_emails": _check_emails,
    **{field: _choice_check for field in CHOICES},
}
