"""A service's message reaches a page in the page's language.

Services speak Vietnamese (the API, the CLI, files and logs use their words
as they are). Pages show a service's message through `vmeeting.core.text.shown`,
so each message must be one the catalogue can hold: an N_-marked literal or
a `say(...)` sentence, whose values are put back after translating. An
unmarked literal or f-string would reach an English page in Vietnamese, as
"retire a site in use" and "a probe of an ended sitting" once did.
"""

import ast
import pickle
from pathlib import Path

import pytest
from flask import session

from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.text import N_, Sentence, say, shown

PACKAGE = Path(__file__).resolve().parent.parent / "vmeeting"
#: the errors a service raises with a message a person reads
ERRORS = {"Conflict", "NonWorkingTime", "StaleEdit", "ValidationError"}


def _unmarked(node):
    """Whether an expression is message text that no catalogue could hold (a bare literal or f-string)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):  # "…" + "…", "…" % values
        return _unmarked(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _unmarked(node.func.value)
    return False


def _messages(tree):
    """(line, expression) of each message given to a service error or put in an `errors` map."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in ERRORS:
                continue
            given = [*node.args, *(keyword.value for keyword in node.keywords if keyword.arg == "message")]
            for expression in given:
                if isinstance(expression, ast.Dict):  # ValidationError's fields
                    yield from ((value.lineno, value) for value in expression.values)
                else:
                    yield expression.lineno, expression
        elif isinstance(node, ast.Assign):
            if any(isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                   and target.value.id.endswith("errors") for target in node.targets):
                yield node.lineno, node.value


def test_every_service_message_can_be_shown_in_english():
    """Every module but the JSON API's own (`api.py`, Vietnamese by contract) marks its messages."""
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}"
             for path in sorted(PACKAGE.rglob("*.py")) if path.name != "api.py"
             for line, expression in _messages(ast.parse(path.read_text(encoding="utf-8")))
             if _unmarked(expression)]
    assert found == [], f"{len(found)} messages are not N_(...) or say(...): {found[:20]}"


def test_a_sentence_is_its_vietnamese_text_and_keeps_what_translates_it():
    sentence = say("Ngày %(day)s đã được khai báo; xóa khai báo cũ trước.", day="02/09/2027")
    assert sentence == "Ngày 02/09/2027 đã được khai báo; xóa khai báo cũ trước."
    assert isinstance(sentence, str) and sentence.params == {"day": "02/09/2027"}
    again = pickle.loads(pickle.dumps(sentence))
    assert isinstance(again, Sentence) and again == sentence and again.msgid == sentence.msgid
    assert say("100% số điểm cầu") == "100% số điểm cầu"  # no values: nothing is formatted


@pytest.mark.parametrize("lang, expected", [
    ("vi", "Ngày 02/09/2027 đã được khai báo; xóa khai báo cũ trước."),
    ("en", "02/09/2027 is already declared; delete that declaration first."),
])
def test_shown_says_a_service_message_in_the_page_language(app, lang, expected):
    error = Conflict(say("Ngày %(day)s đã được khai báo; xóa khai báo cũ trước.", day="02/09/2027"))
    with app.test_request_context():
        session["lang"] = lang
        assert shown(error.message) == expected


def test_shown_leaves_what_the_catalogue_does_not_hold(app):
    with app.test_request_context():
        session["lang"] = "en"
        assert shown("UBND xã Hòa Bình") == "UBND xã Hòa Bình"
        assert shown(None) is None and shown("") == ""
        assert shown(ValidationError({}).message) == "Invalid data."
        assert shown(N_("Buổi họp đã bị hủy.")) == "The sitting was cancelled."
    assert shown(N_("Buổi họp đã bị hủy.")) == "Buổi họp đã bị hủy."  # outside a request: Vietnamese


def test_a_value_out_of_range_is_a_400_in_the_pages_language(database_url):
    """An OverflowError (a number or date past what the driver or date arithmetic holds) is the client's 400."""
    from tests.conftest import _make_app

    app = _make_app(database_url)

    @app.route("/_out_of_range")
    def out_of_range():
        raise OverflowError("date value out of range")

    client = app.test_client()
    response = client.get("/_out_of_range")
    assert response.status_code == 400
    assert "Có số hoặc ngày nằm ngoài phạm vi cho phép." in response.get_data(as_text=True)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    response = client.get("/_out_of_range")
    assert response.status_code == 400
    assert "A number or a date is outside the allowed range." in response.get_data(as_text=True)
