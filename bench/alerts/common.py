"""The bench database and index prefix for issue 17's benchmarks, and the machine a run happened on."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
DATABASE_URL = os.environ.get("BENCH17_DATABASE_URL", "postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench17")
# A node with the percolator module (infra/services.sh loads it: the dev node has it).
OPENSEARCH_URL = os.environ.get("BENCH17_OPENSEARCH_URL", "http://127.0.0.1:9201")
# Another prefix for another data set on the same node (the 1M profiles: BENCH17_PREFIX=bench17m_).
PREFIX = os.environ.get("BENCH17_PREFIX", "bench17_")


def load_results() -> dict:
    """bench/results/alerts.json as it is: each script of bench/alerts writes its own keys into it."""
    path = RESULTS / "alerts.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save_results(data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "alerts.json").write_text(json.dumps(data, indent=2))


def save_result(key: str, result: dict) -> None:
    """One script's result under `key` in alerts.json, the other keys kept."""
    save_results({**load_results(), key: result})


def configure() -> None:
    os.environ.update({"DATABASE_URL": DATABASE_URL, "OPENSEARCH_URL": OPENSEARCH_URL,
                       "OPENSEARCH_INDEX_PREFIX": PREFIX, "FILMO_ENV": "dev", "LOG_LEVEL": "WARNING",
                       "LOG_JSON": "false", "QUEUE_NAMESPACE": "bench17", "OPENSEARCH_TIMEOUT_S": "120",
                       "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-0123456789"})


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "load_average": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values_ms: list[float]) -> dict:
    return {"n": len(values_ms), "p50_ms": round(pct(values_ms, 50), 2), "p95_ms": round(pct(values_ms, 95), 2),
            "mean_ms": round(statistics.fmean(values_ms), 2)}
