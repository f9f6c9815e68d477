"""The flashes a session carries to its next page: each once, the latest ten, the cookie under what browsers keep.

These tests add routes of their own that flash, so each runs on an app of its
own (`own_app`): Flask takes no new route once an app has served a request.
"""

import pytest

from tests.conftest import own_app


@pytest.fixture
def app(database_url):
    yield from own_app(database_url)


def test_messages_waiting_for_a_page_are_the_latest_ten_each_once(app, client):
    """Flashes a session carries to its next page: distinct ones in order, at most the latest ten."""
    from flask import flash

    @app.route("/_test/flash/<int:n>")
    def flash_some(n):
        for i in range(n):
            flash(f"Thông báo {i}", "info")
            flash(f"Thông báo {i}", "info")
        return "ok"

    client.get("/_test/flash/3")
    client.get("/_test/flash/13")
    with client.session_transaction() as session:
        assert session["_flashes"] == [("info", f"Thông báo {i}") for i in range(3, 13)]


def test_a_repeated_message_keeps_its_latest_place(app, client):
    """A warning flashed again by a later request is the newest, so it outlives the ones in between."""
    from flask import flash

    @app.route("/_test/flash/<words>")
    def flash_words(words):
        for word in words.split(","):
            flash(word, "warning")
        return "ok"

    client.get("/_test/flash/sự cố,a0,a1,a2,a3,a4,a5,a6,a7,a8")
    client.get("/_test/flash/b0,sự cố")
    with client.session_transaction() as session:
        assert [message for _category, message in session["_flashes"]] == [
            "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "b0", "sự cố"]


def test_long_messages_keep_the_cookie_under_what_browsers_keep(app, client, make_user, login):
    """Ten messages quoting 300 characters of CJK text each (6 bytes apiece in the session's JSON): the signed-in
    session's cookie stays under 4,096 bytes, the newest message is kept, cut with an ellipsis."""
    import random

    from flask import flash

    rng = random.Random(7)
    texts = ["".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(300)) for _ in range(10)]

    @app.route("/_test/flash/long")
    def flash_long():
        for text in texts:
            flash(f"Điểm cầu đang có sự cố: {text}", "warning")
        return "ok"

    login(make_user("scheduler"))
    response = client.get("/_test/flash/long")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert len(header.split(";")[0]) < 4096 - 200, len(header)
    with client.session_transaction() as session:
        kept = [message for _category, message in session["_flashes"]]
    assert 1 <= len(kept) < 10
    assert kept[-1].endswith("…") and texts[-1].startswith(kept[-1][len("Điểm cầu đang có sự cố: "):-1])
    assert client.get("/").status_code == 200
