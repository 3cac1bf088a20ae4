"""The audit trail: append-only records of who did what, and its pages and exports."""
