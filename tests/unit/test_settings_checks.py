"""System checks on the IM settings, and accounts.conf reading them when used."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.checks import ERROR, WARNING, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from accounts import conf
from accounts.checks import im_settings_check
from accounts.im.client import REGION_DOMAINS

KEY = "c0ffee" * 10 + "abcd"

# A complete configuration for the real service.
LIVE = {
    "IM_SANDBOX": False,
    "IM_SDKAPPID": "1400123456",
    "IM_SECRET_KEY": KEY,
    "IM_SECRET_KEY_FILE": "",
    "IM_ADMIN_IDENTIFIER": "administrator",
    "IM_REGION": "singapore",
    "IM_API_BASE_URL": "",
    "IM_CONNECT_TIMEOUT": 3.05,
    "IM_READ_TIMEOUT": 10.0,
    "IM_RATE_FRACTION": 0.9,
    "IM_CLAIM_LEASE_SECONDS": 30,
}


def live(**overrides):
    """override_settings for the live configuration with ``overrides`` applied."""
    return override_settings(**{**LIVE, **overrides})


def live_problems(**overrides):
    with live(**overrides):
        return im_settings_check(None)


def only(problems, check_id):
    """The one problem with ``check_id``, checked to be alone of its kind."""
    found = [p for p in problems if p.id == check_id]
    assert len(found) == 1, problems
    return found[0]


def assert_no_key(problems):
    for problem in problems:
        assert KEY not in f"{problem.msg} {problem.hint}"


# -- sandbox ---------------------------------------------------------------

SANDBOX_DEFAULTS_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from accounts.checks import im_settings_check
print(json.dumps({
    "sandbox": settings.IM_SANDBOX,
    "var_dir": str(settings.IMADMIN_VAR_DIR),
    "key_file": settings.IM_SECRET_KEY_FILE,
    "base_url": settings.IM_API_BASE_URL,
    "problems": [str(p) for p in im_settings_check(None)],
}))
"""


def test_it_passes_the_sandbox_defaults_of_a_fresh_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IM_")}
    env.update(IMADMIN_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="imadmin.settings")
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SANDBOX_DEFAULTS_SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["sandbox"] is True
    assert found["var_dir"] == str(tmp_path)
    assert found["problems"] == []
    assert found["base_url"] == "http://127.0.0.1:8765"
    key_file = Path(found["key_file"])
    assert key_file.parent == tmp_path
    assert len(key_file.read_text().strip()) == 64
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.fixture
def sandbox(tmp_path):
    """The IM settings that settings.py makes when no IM_* variable is set."""
    key_file = tmp_path / "im-sandbox-secret.key"
    key_file.write_text("ab" * 32)
    with override_settings(
        IM_SANDBOX=True,
        IM_SDKAPPID="",
        IM_SECRET_KEY="",
        IM_SECRET_KEY_FILE=str(key_file),
        IM_ADMIN_IDENTIFIER="administrator",
        IM_REGION="",
        IM_API_BASE_URL="http://127.0.0.1:8765",
        IM_CONNECT_TIMEOUT=3.05,
        IM_READ_TIMEOUT=10.0,
        IM_RATE_FRACTION=0.9,
    ):
        yield


def test_it_passes_the_sandbox_settings(sandbox):
    assert im_settings_check(None) == []


def test_it_points_the_sandbox_at_the_local_sandbox(sandbox):
    config = conf.im_config()
    assert config.sdkappid == conf.SANDBOX_SDKAPPID
    assert config.base_url == "http://127.0.0.1:8765"
    assert config.secret_key == "ab" * 32
    assert config.identifier == "administrator"
    assert conf.endpoint_label() == "local sandbox (http://127.0.0.1:8765)"


def test_it_only_warns_about_a_short_read_timeout_in_the_sandbox(sandbox):
    with override_settings(IM_READ_TIMEOUT=3.0):
        problem = only(im_settings_check(None), "imadmin.E004")
    assert problem.level == WARNING


def test_it_is_registered_with_djangos_checks():
    with live(IM_SECRET_KEY="", IM_REGION="mars"):
        ids = [p.id for p in run_checks() if p.id and p.id.startswith("imadmin.")]
    assert ids == ["imadmin.E001", "imadmin.E001"]


# -- the real service --------------------------------------------------------


def test_it_passes_a_complete_live_configuration():
    assert live_problems() == []
    with live():
        config = conf.im_config()
    assert config.sdkappid == 1400123456
    assert config.base_url == "https://adminapisgp.im.qcloud.com"
    assert config.secret_key == KEY


@pytest.mark.parametrize("region", sorted(REGION_DOMAINS))
def test_it_maps_each_region_to_its_https_domain(region):
    assert live_problems(IM_REGION=region) == []
    with live(IM_REGION=region):
        assert conf.base_url() == f"https://{REGION_DOMAINS[region]}"


def test_it_refuses_a_missing_secret_key():
    problems = live_problems(IM_SECRET_KEY="", IM_SECRET_KEY_FILE="")
    problem = only(problems, "imadmin.E001")
    assert problem.level == ERROR
    assert "IM_SECRET_KEY" in problem.msg
    assert "IM_SECRET_KEY_FILE" in problem.hint


@pytest.mark.parametrize("value", ["abc", "", "14001 23", "1.5e9", "0", "-7", None])
def test_it_refuses_an_sdkappid_that_is_not_a_positive_number(value):
    problem = only(live_problems(IM_SDKAPPID=value), "imadmin.E001")
    assert problem.level == ERROR
    assert "IM_SDKAPPID" in problem.msg


def test_it_refuses_an_unknown_region_and_lists_the_known_ones():
    problem = only(live_problems(IM_REGION="mars"), "imadmin.E001")
    assert problem.level == ERROR
    assert "'mars'" in problem.msg
    assert "singapore" in problem.msg and "china" in problem.msg


def test_it_ignores_the_region_when_a_base_url_is_set():
    problems = live_problems(
        IM_REGION="mars", IM_API_BASE_URL="https://adminapisgp.my-imcloud.com/"
    )
    assert problems == []
    with live(IM_API_BASE_URL="https://x.test/"):
        assert conf.base_url() == "https://x.test"


def test_it_refuses_a_read_timeout_not_longer_than_the_services_own():
    problem = only(live_problems(IM_READ_TIMEOUT=3), "imadmin.E004")
    assert problem.level == ERROR
    assert "3s" in problem.msg
    assert live_problems(IM_READ_TIMEOUT=3.5) == []


def test_it_refuses_an_admin_identifier_the_api_would_refuse():
    problem = only(live_problems(IM_ADMIN_IDENTIFIER="the admin"), "imadmin.E002")
    assert "IM_ADMIN_IDENTIFIER" in problem.msg


def test_it_refuses_a_base_url_that_is_not_http():
    only(live_problems(IM_API_BASE_URL="ftp://im.test"), "imadmin.E003")


def test_it_warns_about_plain_http_for_the_real_service():
    problem = only(live_problems(IM_API_BASE_URL="http://im.test"), "imadmin.W001")
    assert problem.level == WARNING


def test_it_warns_about_a_lease_shorter_than_two_calls_waits():
    problem = only(live_problems(IM_CLAIM_LEASE_SECONDS=20), "imadmin.W002")
    assert problem.level == WARNING and "IM_CLAIM_LEASE_SECONDS (20)" in problem.msg
    assert not [p for p in live_problems() if p.id == "imadmin.W002"]


@pytest.mark.parametrize("fraction", [0, -0.5, 1.01])
def test_it_refuses_a_rate_fraction_outside_zero_to_one(fraction):
    only(live_problems(IM_RATE_FRACTION=fraction), "imadmin.E005")


def test_it_reports_every_problem_at_once_without_the_key():
    problems = live_problems(IM_SDKAPPID="x", IM_REGION="mars", IM_READ_TIMEOUT=1)
    assert sorted(p.id for p in problems) == [
        "imadmin.E001",
        "imadmin.E001",
        "imadmin.E004",
    ]
    assert_no_key(problems)


# -- IM_SECRET_KEY_FILE ----------------------------------------------------


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "im.key"
    key_file.write_text(f"  {KEY}\n")
    overrides = {"IM_SECRET_KEY": "", "IM_SECRET_KEY_FILE": str(key_file)}
    assert live_problems(**overrides) == []
    with live(**overrides):
        assert conf.secret_key() == KEY


def test_it_prefers_im_secret_key_over_the_file(tmp_path):
    key_file = tmp_path / "im.key"
    key_file.write_text("from-the-file")
    with live(IM_SECRET_KEY_FILE=str(key_file)):
        assert conf.secret_key() == KEY


def test_it_reports_a_missing_key_file_as_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "im.key"
    problems = live_problems(IM_SECRET_KEY="", IM_SECRET_KEY_FILE=str(missing))
    problem = only(problems, "imadmin.E001")
    assert problem.level == ERROR
    assert "IM_SECRET_KEY_FILE" in problem.msg
    assert str(missing) in problem.msg
    assert "No such file" in problem.msg
    assert "Traceback" not in problem.msg


def test_it_stops_the_check_command_on_a_missing_key_file(tmp_path):
    missing = tmp_path / "im.key"
    overrides = {"IM_SECRET_KEY": "", "IM_SECRET_KEY_FILE": str(missing)}
    with live(**overrides):
        with pytest.raises(SystemCheckError) as caught:
            call_command("check")
    assert "imadmin.E001" in str(caught.value)
    assert "IM_SECRET_KEY_FILE" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "is empty"), (b" \n\t\n", "is empty"), (b"\xff\xfe\x00k", "UTF-8")],
)
def test_it_refuses_a_key_file_without_a_usable_key(tmp_path, content, expected):
    key_file = tmp_path / "im.key"
    key_file.write_bytes(content)
    problems = live_problems(IM_SECRET_KEY="", IM_SECRET_KEY_FILE=str(key_file))
    problem = only(problems, "imadmin.E001")
    assert expected in problem.msg


def test_it_refuses_a_key_file_that_is_a_directory(tmp_path):
    problems = live_problems(IM_SECRET_KEY="", IM_SECRET_KEY_FILE=str(tmp_path))
    assert "cannot be read" in only(problems, "imadmin.E001").msg


def test_it_raises_improperly_configured_when_the_key_is_needed(tmp_path):
    overrides = {"IM_SECRET_KEY": "", "IM_SECRET_KEY_FILE": str(tmp_path / "x")}
    with live(**overrides):
        with pytest.raises(ImproperlyConfigured, match="IM_SECRET_KEY_FILE"):
            conf.im_client()


# -- the client's configuration --------------------------------------------


def test_it_passes_the_configured_timeouts_and_identity_to_the_client():
    overrides = {
        "IM_CONNECT_TIMEOUT": 2.5,
        "IM_READ_TIMEOUT": 8.0,
        "IM_USERSIG_TTL": 7200,
        "IM_ADMIN_IDENTIFIER": "ops_admin",
    }
    with live(**overrides):
        client = conf.im_client()
    config = client.config
    assert (config.connect_timeout, config.read_timeout) == (2.5, 8.0)
    assert config.usersig_ttl == 7200
    assert config.identifier == "ops_admin"
    assert config.sdkappid == 1400123456
    assert KEY not in repr(config) and KEY not in repr(client)
    client.close()


def test_it_reads_settings_when_used_not_at_import():
    with live(IM_SDKAPPID="1400000777"):
        assert conf.sdkappid() == 1400000777
    with live(IM_SDKAPPID="1400000778"):
        assert conf.sdkappid() == 1400000778


def test_it_refuses_an_upload_dir_inside_a_public_folder(settings, tmp_path):
    from accounts.checks import upload_dir_check

    settings.STATIC_ROOT = str(tmp_path / "static")
    settings.UPLOAD_DIR = str(tmp_path / "static" / "uploads")
    errors = upload_dir_check(None)
    assert [e.id for e in errors] == ["imadmin.E010"]
    settings.UPLOAD_DIR = str(tmp_path / "private")
    assert upload_dir_check(None) == []


def test_it_refuses_an_upload_dir_inside_an_apps_static_folder(settings):
    from accounts.checks import upload_dir_check

    # Served by the app directories finder, though STATICFILES_DIRS is empty.
    assert settings.STATICFILES_DIRS == []
    settings.UPLOAD_DIR = str(Path(apps.get_app_config("accounts").path) / "static")
    assert [e.id for e in upload_dir_check(None)] == ["imadmin.E010"]


def test_collectstatic_finds_each_file_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        IMADMIN_VAR_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SETTINGS_MODULE="imadmin.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Found another file" not in result.stdout + result.stderr
    assert "imadmin/job.js" in result.stdout
