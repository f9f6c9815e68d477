"""The factory, the configuration and the health check."""

import pytest

from config import ProductionConfig


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    from vmeeting import create_app

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_pages_need_login(client):
    response = client.get("/endpoints")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_security_headers_on_pages(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
