"""Tests through the real path: the database, the IM sandbox over HTTP on loopback,
the engine in this process."""
