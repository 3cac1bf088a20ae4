"""One module per command; ``_jobs`` and ``_signals`` are what they share."""
