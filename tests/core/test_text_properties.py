"""Vietnamese folding, generated: the search key ignores accents and case, whatever form the text came in.

`fold` must be idempotent, blind to case and to NFC/NFD, map đ, Đ and Ð (U+00D0, from old
encodings) to d, and take every Vietnamese letter, with every tone, to its bare Latin letter.
"""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from vmeeting.core.text import clean, fold

SUITE = settings(max_examples=300, derandomize=True, deadline=None, database=None)

#: the Vietnamese alphabet's vowels with their base letter, and the five tone marks
VOWELS = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o", "ô": "o", "ơ": "o",
          "u": "u", "ư": "u", "y": "y"}
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # ngang, huyền, sắc, hỏi, ngã, nặng
CONSONANTS = "bcdghklmnpqrstvx"
LETTERS = {unicodedata.normalize("NFC", vowel + tone): base for vowel, base in VOWELS.items() for tone in TONES}
LETTERS.update({c: c for c in CONSONANTS})
LETTERS.update({letter.upper(): base for letter, base in list(LETTERS.items())})
LETTERS.update({"đ": "d", "Đ": "d", "Ð": "d", "ð": "d"})  # Ð and ð: Đ and đ as old encodings wrote them

vietnamese = st.lists(st.sampled_from(sorted(LETTERS)) | st.sampled_from(" -0123456789"), max_size=40).map("".join)
any_text = st.text(max_size=40) | vietnamese


def test_every_vietnamese_letter_with_every_tone_folds_to_its_bare_letter():
    assert len(LETTERS) == 2 * (12 * 6 + 16) + 4  # 88 letters in both cases, đ Đ, and Ð ð
    for letter, base in LETTERS.items():
        for form in ("NFC", "NFD"):
            assert fold(unicodedata.normalize(form, letter)) == base, (letter, form)


def test_lowercase_d_with_stroke_folds_like_the_capital():
    assert fold("đình lập") == fold("ĐÌNH LẬP") == fold("Ðình Lập") == fold("ðình lập") == "dinh lap"


@SUITE
@given(any_text)
def test_folding_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@SUITE
@given(vietnamese)
def test_folding_ignores_case_and_normal_form(text):
    key = fold(text)
    for variant in (text.upper(), text.lower(), text.swapcase(), unicodedata.normalize("NFD", text),
                    unicodedata.normalize("NFC", text.upper()), unicodedata.normalize("NFD", text.title())):
        assert fold(variant) == key


@SUITE
@given(vietnamese)
def test_folded_vietnamese_is_plain_ascii_letter_for_letter(text):
    key = fold(text)
    assert key.isascii()
    expected = "".join(LETTERS.get(unicodedata.normalize("NFC", ch), ch) for ch in clean(text)).lower()
    assert key == expected


@SUITE
@given(any_text, any_text)
def test_a_folded_part_is_found_in_the_folded_whole(prefix, text):
    """What search relies on: folding the query finds it inside the folded name."""
    assert fold(text) in fold(prefix + " " + text + " ") or clean(text) == ""
