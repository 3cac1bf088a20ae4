import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django must
# still allow ORM calls there (shared/PLATFORM.md).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures_sandbox",
    "tests.fixtures_pipeline",
    "tests.fixtures_browser",
    "tests.fixtures_production",
]


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Real hashing costs ~0.3 s a sign-in; tests sign in hundreds of times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def unhashed_static_files(settings):
    """Pages render without a collectstatic run; the production layout's test
    (tests/cluster/test_production.py) serves the hashed, compressed files."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in LANGUAGE_CODE.

    A request read in Chinese leaves the test thread's language active, and
    sentences built later outside a request would follow it.
    """
    from django.utils import translation

    yield
    translation.deactivate()
