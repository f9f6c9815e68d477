"""Vietnamese text: normal form, accent folding for search, collation for sorting, messages a page translates."""

import re
import unicodedata
from functools import lru_cache

import icu
from flask import has_request_context
from flask_babel import gettext

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


class Sentence(str):
    """A service's sentence with values in it: the Vietnamese text, and how to say it again in another language.

    As a str it is the formatted Vietnamese that the API, files, mails, the
    CLI and logs use; `msgid` (the Vietnamese with %(name)s places) and
    `params` let a page say it in the reader's language (`shown`).
    """

    def __new__(cls, msgid, params):
        sentence = super().__new__(cls, msgid % params if params else msgid)
        sentence.msgid, sentence.params = msgid, params
        return sentence

    def __reduce__(self):  # pickled (a cached value, a worker's result) it stays a Sentence
        return Sentence, (self.msgid, self.params)


def say(msgid, **params):
    """A service's message with values: `say("Năm từ %(first)s đến %(last)s.", first=2020, last=2100)`.

    Returns a `Sentence`, which is the Vietnamese text; `make messages`
    extracts `msgid` as it does N_'s, and `shown` translates it with the
    values put back, a value that is itself a Sentence translated too (a
    reason inside a message). A message without values is a plain literal
    marked N_; `say(literal)` marks one that goes into another as a value.
    """
    return Sentence(msgid, params)


def shown(text):
    """Return a service's message (N_-marked literal or `say` sentence) in the language of the page being built.

    Anything the catalogue does not hold (a name, text a person typed) comes
    back as it is. Outside a request it is the Vietnamese unchanged.
    """
    if not text or not has_request_context():
        return text
    if isinstance(text, Sentence):
        return gettext(text.msgid, **{name: shown(value) if isinstance(value, Sentence) else value
                                      for name, value in text.params.items()})
    return gettext(str(text))


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
    "\u200b": N_("ký tự khoảng trắng độ rộng 0"),
    "\u200c": N_("ký tự không nối độ rộng 0"),
    "\u200d": N_("ký tự nối độ rộng 0"),
    "\u2060": N_("ký tự nối từ vô hình"),
    "\ufeff": N_("dấu BOM (khoảng trắng không ngắt độ rộng 0)"),
    "\u00a0": N_("dấu cách không ngắt"),
    "\u00ad": N_("dấu gạch nối mềm"),
    "\u202f": N_("dấu cách hẹp không ngắt"),
    " ": N_("dấu cách"),
    "\t": N_("dấu tab"),
    "\n": N_("dấu xuống dòng"),
    "\r": N_("dấu về đầu dòng"),
}


def describe_character(char):
    """Name a character for a person: `ký tự khoảng trắng độ rộng 0 (zero-width space, U+200B)`.

    Vietnamese for the characters that arrive unseen in pasted text, the
    Unicode name (unicodedata) for the others, with the code point either way.
    A `say` sentence: a page shows the Vietnamese words in its language.
    """
    name = unicodedata.name(char, "").lower() or f"character {ord(char):#x}"
    point = f"U+{ord(char):04X}"
    if char in _CHARACTER_NAMES:
        return say("%(what)s (%(name)s, %(point)s)", what=say(_CHARACTER_NAMES[char]), name=name, point=point)
    if char.isprintable():
        return say("«%(char)s» (%(name)s, %(point)s)", char=char, name=name, point=point)
    return say("ký tự vô hình (%(name)s, %(point)s)", name=name, point=point)
