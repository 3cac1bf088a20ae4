import os

# Playwright's sync API runs an event loop in the test thread; Django must
# still allow ORM calls there (shared/PLATFORM.md).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures_sandbox",
    "tests.fixtures_pipeline",
    "tests.fixtures_browser",
]
