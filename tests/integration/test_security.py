"""Production settings pass check --deploy; headers, CSP, and error reports."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from accounts import conf
from accounts.im.usersig import UserSigCache

ROOT = Path(__file__).resolve().parents[2]
CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
}


def manage(*args, **env):
    # conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; production does not.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**extra):
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "imadmin.example.com",
        **extra,
    }


def test_check_deploy_passes_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_flags_a_site_not_marked_secure():
    env = production_env(DJANGO_SECURE="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_production_settings_turn_on_https_protections():
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER)"
    )
    env = production_env(DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    result = manage("shell", "-c", code, **env)
    assert result.stdout.strip().splitlines()[-1] == (
        "True True True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


RENAMED = "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, s.CLIENT_IP_HEADER"


def test_renamed_variables_set_their_settings():
    code = f"from django.conf import settings as s; print({RENAMED})"
    env = production_env(
        DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_HSTS_PRELOAD="0",
        CLIENT_IP_HEADER="X-Real-IP",
    )
    result = manage("shell", "-c", code, **env)
    assert result.stdout.strip().splitlines()[-1] == "600 False X-Real-IP"


def test_the_old_variable_names_still_work_when_the_new_ones_are_unset():
    code = (
        "from django.conf import settings as s;"
        f"print({RENAMED}, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER)"
    )
    env = production_env(
        DJANGO_HSTS_SECONDS="600",
        DJANGO_HSTS_PRELOAD="0",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_PROXY_SSL_HEADER="X-Forwarded-Proto",
        DJANGO_CLIENT_IP_HEADER="X-Forwarded-For",
    )
    result = manage("shell", "-c", code, **env)
    assert result.stdout.strip().splitlines()[-1] == (
        "600 False X-Forwarded-For False ('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    # The new name wins when both are set.
    env.update(DJANGO_SECURE_HSTS_SECONDS="900", CLIENT_IP_HEADER="X-Real-IP")
    result = manage("shell", "-c", code, **env)
    assert result.stdout.strip().splitlines()[-1].startswith("900 False X-Real-IP ")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_every_response_carries_the_csp_and_browser_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert set(response["Content-Security-Policy"].split("; ")) == CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_pages_have_no_inline_script_or_style(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_superuser("boss", "", "pw-long-enough-1")
    client.force_login(user)
    for url in ("/", "/audit/", "/login/", "/admin/"):
        page = client.get(url).content.decode()
        assert "<script>" not in page and " style=" not in page and "<style" not in page


def test_error_reports_hide_the_im_secret_key_and_usersigs(settings, tmp_path):
    key_file = tmp_path / "im.key"
    key_file.write_text("not-the-real-key-" + secrets.token_hex(16))
    settings.IM_SECRET_KEY, settings.IM_SECRET_KEY_FILE = "", str(key_file)
    secret = conf.secret_key()
    sig = UserSigCache(1400000000, secret, "administrator").get()
    request = RequestFactory().get("/jobs/1/")

    def failing_call(usersig, url, key_copy):
        raise RuntimeError("the IM call failed")

    try:
        failing_call(sig, f"https://x/v4/?usersig={sig}&sdkappid=1", key_copy=secret)
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        text = reporter.get_traceback_text() + reporter.get_traceback_html()
    assert "the IM call failed" in text
    assert secret not in text and sig not in text
    assert "IM_SECRET_KEY" in text  # the setting is listed, its value hidden
