"""Test harness: real PostGIS, Redis and OpenSearch, started by `bash infra/test.sh`.

Layout: tests by area (tests/api/<domain>/, tests/indexer/, tests/realtime/); fixtures in tests/fixtures/,
loaded here as plugins (test modules never import them); plain helpers in tests/helpers/ (imported by
name). No test module imports another.
"""
import pytest

# Plain asserts in the helpers report their values like asserts in test modules (plugins get this anyway).
pytest.register_assert_rewrite("tests.helpers")

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.app",
    "tests.fixtures.accounts",
    "tests.fixtures.processes",
    "tests.fixtures.search",
    "tests.fixtures.uploads",
    "tests.fixtures.browser",
]
