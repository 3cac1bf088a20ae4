"""Tests of one piece at a time: no database, no sandbox process, no network."""
