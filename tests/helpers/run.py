"""This pytest run: the repository, the run id, a scratch folder, and the ports of the shared services.

Each run gets its own database, Redis database number, OpenSearch index prefix and queue namespace, all
named after RUN_ID (see tests/fixtures/services.py), so several runs can share the services.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_ID = secrets.token_hex(4)
PG_PORT = int(os.environ.get("FILMO_PG_PORT", "5433"))
REDIS_PORT = int(os.environ.get("FILMO_REDIS_PORT", "6380"))
OS_PORT = int(os.environ.get("FILMO_OPENSEARCH_PORT", "9201"))
PG_ADMIN_URL = f"postgresql://filmo:filmo@127.0.0.1:{PG_PORT}/postgres"
TEST_DB = f"filmo_test_{RUN_ID}"
TMP = Path(tempfile.mkdtemp(prefix=f"filmo-test-{RUN_ID}-"))
