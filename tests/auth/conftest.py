"""Sign-in under test: here `login` goes through the real form (the page, its CSRF token, the post)."""

import pytest

from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def login(client):
    """Sign the test client in through the real form."""

    def do_login(user, password=PASSWORD):
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"username": user.username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do_login
