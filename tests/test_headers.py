"""Security headers on every answer; cookies HttpOnly and SameSite=Lax, Secure behind HTTPS."""
from casetrack import create_app


def test_pages_and_api_carry_the_security_headers(client, world):
    for r in (client.get("/login"), client.get("/api/v1/me")):
        csp = r.headers["Content-Security-Policy"]
        for directive in ("object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'",
                          "default-src 'self'"):
            assert directive in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in r.headers     # plain HTTP on 127.0.0.1


def test_session_cookie_flags(client, world):
    r = client.post("/login", data={"username": "group1", "password": "secret"})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_behind_https_cookies_are_secure_and_hsts_is_sent(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HTTPS": True, "PROXY_FIX": 1,
                      "SECRET_KEY": "test"})
    client = app.test_client()
    r = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in r.headers["Strict-Transport-Security"]
    assert "Secure" in r.headers["Set-Cookie"]
