"""Tests with real qcluster processes: kills, outages, locks.

Markers ``cluster`` (and ``reliability`` for the long scenarios).
"""
