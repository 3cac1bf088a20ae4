"""Telling people and systems that a job ended: signed webhooks and email."""
