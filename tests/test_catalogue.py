"""The English catalogue keeps up with the Vietnamese text of the pages."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "vmeeting" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
METHODS = [("vmeeting/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "N_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "say": None}


def marked_strings():
    """Every string the code and templates mark for translation (what `make messages` extracts)."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_string_has_an_english_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue if m.id and m.string}
    missing = sorted(marked_strings() - translated)
    assert not missing, f"{len(missing)} strings lack English; run `make messages` and translate: {missing[:10]}"
