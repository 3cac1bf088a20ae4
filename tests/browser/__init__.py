"""Pages through a real browser (Playwright with Debian chromium; marker browser)."""
