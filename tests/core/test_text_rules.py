"""describe_character, exactly: how a form names a character a person cannot see or did not mean."""

import pytest

from tests.conftest import shown_in_english
from vmeeting.core.text import describe_character


@pytest.mark.parametrize("char, words", [
    ("\u200b", "ký tự khoảng trắng độ rộng 0 (zero width space, U+200B)"),
    ("\u00a0", "dấu cách không ngắt (no-break space, U+00A0)"),
    ("\ufeff", "dấu BOM (khoảng trắng không ngắt độ rộng 0) (zero width no-break space, U+FEFF)"),
    (" ", "dấu cách (space, U+0020)"),
    ("\t", "dấu tab (character 0x9, U+0009)"),
    ("đ", "«đ» (latin small letter d with stroke, U+0111)"),
    ("/", "«/» (solidus, U+002F)"),
    ("\U0001F600", "«\U0001F600» (grinning face, U+1F600)"),
    ("\x07", "ký tự vô hình (character 0x7, U+0007)"),
    ("\u2028", "ký tự vô hình (line separator, U+2028)"),
])
def test_a_character_is_named_in_words_with_its_code_point(char, words):
    assert describe_character(char) == words


def test_a_page_in_english_names_the_character_in_english(app):
    """The name is a `say` sentence: the form's reason reads in the page's language, the API's in Vietnamese."""
    described = describe_character("\u200b")
    assert shown_in_english(app, described) == "zero-width space (zero width space, U+200B)"
    assert shown_in_english(app, describe_character("\x07")) == "invisible character (character 0x7, U+0007)"
    assert shown_in_english(app, describe_character("/")) == "“/” (solidus, U+002F)"
    assert described == "ký tự khoảng trắng độ rộng 0 (zero width space, U+200B)"
