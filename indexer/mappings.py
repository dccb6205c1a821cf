"""Index definitions from search_mappings/: the mapping version and the concrete index names derived from it."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from indexer.client import INDEXES, alias_name

# Outbox entity name -> index kind.
KIND_OF_ENTITY = {"project": "projects", "profile": "profiles"}
ENTITY_OF_KIND = {kind: entity for entity, kind in KIND_OF_ENTITY.items()}


def mappings_dir() -> Traversable:
    """The installed `search_mappings` package (package data of the wheel: works from any working directory).

    An editable install made before search_mappings/ became a package does not map it; the checkout's folder
    is the same files (re-running infra/install.sh removes the need)."""
    try:
        return resources.files("search_mappings")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[1] / "search_mappings"


@lru_cache
def _load(kind: str) -> tuple[int, dict]:
    if kind not in INDEXES:
        raise ValueError(f"unknown index kind {kind!r}")
    raw = json.loads(mappings_dir().joinpath(f"{kind}.json").read_text(encoding="utf-8"))
    version = int(raw.pop("_filmo_version", None) or raw["mappings"]["_meta"]["version"])
    return version, raw


def mapping_version(kind: str) -> int:
    return _load(kind)[0]


def index_body(kind: str) -> dict:
    """Settings + mappings exactly as sent to OpenSearch (a fresh copy: callers may adjust settings)."""
    return copy.deepcopy(_load(kind)[1])


def new_index_name(kind: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
    return f"{alias_name(kind)}_v{mapping_version(kind)}_{stamp}"


def index_pattern(kind: str) -> str:
    """Matches every concrete index of this kind (never the alias itself, which has no `_v` suffix)."""
    return f"{alias_name(kind)}_v*"


def version_of_index(kind: str, index: str) -> int | None:
    prefix = f"{alias_name(kind)}_v"
    if not index.startswith(prefix):
        return None
    head = index[len(prefix):].split("_", 1)[0]
    return int(head) if head.isdigit() else None
