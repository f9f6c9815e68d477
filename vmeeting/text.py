"""Vietnamese text: normal form, accent folding for search, collation for sorting."""

import re
import unicodedata
from functools import lru_cache

import icu

_SPACES = re.compile(r"\s+")
# Unicode gives đ/Đ no decomposition, so folding would keep them; map by hand.
# Ð (U+00D0, Icelandic eth) looks the same as Đ and arrives from old encodings, and so does its
# lower case ð (U+00F0): lowering Ð gives ð, so without it folding would not be blind to case.
_D_MAP = str.maketrans({"đ": "d", "Đ": "D", "Ð": "D", "ð": "d"})


def clean(value):
    """Return text in NFC with runs of white space collapsed, or '' for None."""
    if value is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(value))).strip()


def fold(value):
    """Return the search key of a text: no accents, no case (`Đình Lập` → `dinh lap`)."""
    text = clean(value).translate(_D_MAP)
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


def N_(text):
    """Mark a Vietnamese label for the catalogue and return it unchanged (gettext_noop).

    Label dictionaries and a service's words keep their Vietnamese (files,
    mails, messages and the API use it); pages show a label through gettext,
    `{{ _(label) }}`, so English mode translates it. `make messages` extracts
    the N_ marks.
    """
    return text


@lru_cache(maxsize=1)
def _collator():
    return icu.Collator.createInstance(icu.Locale("vi_VN"))


def sort_key(value):
    """Return bytes that order texts as the Vietnamese alphabet does (a ă â b … đ …)."""
    return bytes(_collator().getSortKey(clean(value)))


def vi_sorted(items, key=lambda item: item):
    """Return items sorted by the Vietnamese alphabet of key(item)."""
    return sorted(items, key=lambda item: sort_key(key(item)))


#: Vietnamese names of the characters that arrive unseen in pasted text
_CHARACTER_NAMES = {
    "\u200b": "ký tự khoảng trắng độ rộng 0",
    "\u200c": "ký tự không nối độ rộng 0",
    "\u200d": "ký tự nối độ rộng 0",
    "\u2060": "ký tự nối từ vô hình",
    "\ufeff": "dấu BOM (khoảng trắng không ngắt độ rộng 0)",
    "\u00a0": "dấu cách không ngắt",
    "\u00ad": "dấu gạch nối mềm",
    "\u202f": "dấu cách hẹp không ngắt",
    " ": "dấu cách",
    "\t": "dấu tab",
    "\n": "dấu xuống dòng",
    "\r": "dấu về đầu dòng",
}


def describe_character(char):
    """Name a character for a person: `ký tự khoảng trắng độ rộng 0 (zero-width space, U+200B)`.

    Vietnamese for the characters that arrive unseen in pasted text, the
    Unicode name (unicodedata) for the others, with the code point either way.
    """
    name = unicodedata.name(char, "").lower() or f"character {ord(char):#x}"
    point = f"U+{ord(char):04X}"
    if char in _CHARACTER_NAMES:
        return f"{_CHARACTER_NAMES[char]} ({name}, {point})"
    return f"«{char}» ({name}, {point})" if char.isprintable() else f"ký tự vô hình ({name}, {point})"
