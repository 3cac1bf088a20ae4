"""Template tags of the pages (``{% load imadmin %}``)."""
