"""The columns of an endpoint file: their names, the Vietnamese words offices write, the fixed values.

A file's header may name a column by its technical name (`contact_phone`) or
in Vietnamese (`Điện thoại liên hệ`, `Số điện thoại`, `SĐT`), without regard
to case, accents, spaces or a trailing "(*)". Fixed values (status, category,
probe, transport, protocol) may likewise be the stored value (`maintenance`)
or its Vietnamese word (`Bảo trì`, `bao tri`). Exports write the Vietnamese
words by default, and the technical ones for scripts.
"""

import re

from vmeeting.registry.fields import CHOICE_LABELS, CHOICES
from vmeeting.core.text import fold

#: the columns of an export, in order; an import accepts any subset holding the required ones. The unit's
#: validity (YYYY-MM-DD; the last day it existed, empty while it exists) is written, never read: a code names
#: a unit only with its dates, and an import takes units valid on its day (transfer_validity)
COLUMNS = (
    "code", "name", "unit_id", "unit_code", "unit_name", "unit_valid_from", "unit_valid_to", "category", "address", "sip_uri", "probe",
    "bridge", "status", "contact_name", "contact_phone", "contact_emails", "technician", "transport",
    "protocol", "device_model", "device_serial", "platform_ref", "notes",
)
#: the Vietnamese header of each column, as exports write it
HEADERS = {
    "code": "Mã điểm cầu", "name": "Tên điểm cầu", "unit_id": "ID đơn vị", "unit_code": "Mã đơn vị",
    "unit_name": "Đơn vị", "unit_valid_from": "Đơn vị có hiệu lực từ", "unit_valid_to": "Đơn vị hết hiệu lực sau",
    "category": "Loại điểm cầu", "address": "Địa chỉ", "sip_uri": "Địa chỉ SIP",
    "probe": "Kiểm tra tự động", "bridge": "Cầu MCU", "status": "Trạng thái", "contact_name": "Người liên hệ",
    "contact_phone": "Điện thoại liên hệ", "contact_emails": "Thư điện tử liên hệ",
    "technician": "Kỹ thuật viên", "transport": "Đường truyền", "protocol": "Giao thức",
    "device_model": "Thiết bị (model)", "device_serial": "Số sê-ri thiết bị",
    "platform_ref": "Mã phòng trên nền tảng", "notes": "Ghi chú",
}
#: other headers offices write for a column (compared folded, see `header_key`)
_OTHER_HEADERS = {
    "code": ("Mã", "Mã điểm", "Mã điểm cầu truyền hình"),
    "name": ("Tên", "Tên điểm", "Tên điểm cầu truyền hình"),
    "unit_id": ("Mã số đơn vị",),
    "unit_code": ("Mã ĐVHC", "Mã đơn vị hành chính"),
    "unit_name": ("Tên đơn vị", "Đơn vị hành chính", "Đơn vị quản lý"),
    "category": ("Loại", "Cấp", "Phân loại"),
    "sip_uri": ("SIP", "SIP URI", "Địa chỉ SIP URI"),
    "probe": ("Kiểm tra", "Cách kiểm tra"),
    "bridge": ("MCU", "Cầu"),
    "contact_name": ("Liên hệ", "Họ tên người liên hệ", "Cán bộ phụ trách"),
    "contact_phone": ("Điện thoại", "Số điện thoại", "SĐT", "SĐT liên hệ", "Phone"),
    "contact_emails": ("Email", "E-mail", "Thư điện tử", "Email liên hệ"),
    "technician": ("Kĩ thuật viên", "Tài khoản kỹ thuật viên"),
    "transport": ("Mạng", "Mạng truyền dẫn"),
    "device_model": ("Thiết bị", "Model", "Loại thiết bị"),
    "device_serial": ("Số sê-ri", "Serial", "Số serial"),
    "platform_ref": ("Mã phòng",),
    "notes": ("Ghi chú khác",),
}
#: columns whose digits are text (a leading zero matters), read strictly from spreadsheet cells
DIGIT_COLUMNS = ("contact_phone",)
#: other words accepted for a fixed value, besides the stored value and its label
_OTHER_VALUES = {
    "status": {"Đang hoạt động": "active", "Đang bảo trì": "maintenance", "Ngừng hoạt động": "retired"},
    "probe": {"SIP": "sip-options", "TCP": "tcp", "Không": "none"},
    "category": {"Tỉnh": "provincial", "Sở": "agency", "Huyện": "district", "Xã": "commune"},
}


def header_key(text):
    """Return the key a header is compared by: folded, without "(…)", "*" and punctuation."""
    text = re.sub(r"\([^)]*\)|\*", " ", fold(text))
    return re.sub(r"[\s_\-./:]+", " ", text).strip()


_COLUMN_OF_HEADER = {}
for _column in COLUMNS:
    for _text in (_column, HEADERS[_column], *_OTHER_HEADERS.get(_column, ())):
        _COLUMN_OF_HEADER.setdefault(header_key(_text), _column)


def column_of(header):
    """Return the column a header names, or None."""
    return _COLUMN_OF_HEADER.get(header_key(header))


_VALUE_OF_WORD = {
    field: {fold(word): value for word, value in (
        *((value, value) for value in CHOICES[field]),
        *((label, value) for value, label in CHOICE_LABELS[field].items()),
        *_OTHER_VALUES.get(field, {}).items(),
    )}
    for field in CHOICES
}
#: the columns holding a fixed value
CHOICE_COLUMNS = tuple(CHOICES)


def choice_value(column, text):
    """Return the stored value a word names in a fixed-value column; text it does not know is kept for the check."""
    return _VALUE_OF_WORD[column].get(fold(text), text)


def choice_words(column):
    """Return the Vietnamese words of a fixed-value column, for messages and the template's lists."""
    return [CHOICE_LABELS[column][value] for value in CHOICES[column]]


def choice_label(column, value):
    """Return the Vietnamese word of a stored value (the value itself when it has none)."""
    return CHOICE_LABELS[column].get(value, value)
