"""Scheduled imports: a file or an HTTPS URL imported again and again by django-q2."""
