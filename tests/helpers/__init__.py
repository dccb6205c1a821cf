"""Plain helpers for the tests (no fixtures, no tests): import what a test needs from its module here."""
