"""The dashboard pages: home, the single-import form, accounts and jobs."""
