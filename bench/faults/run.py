"""The fault suite (issue 14): each fault under a bounded write load through the API, then the checks.

    .venv/bin/python -m bench.faults.run [fault ...]        (default: all, in this order)
      opensearch_killed  worker_killed  postgres_stopped  redis_restarted  api_killed_chat

Starts (or reuses) a throw-away service set of its own with `infra/services.sh` in `.data/faults` (free ports,
saved in .data/faults/ports.env; the shared services and the dev platform are never touched), runs each fault
script as a subprocess (fresh database, index prefix and queue namespace each), and writes
bench/results/faults.json and bench/results/faults.md. Exit 1 when any fault lost or left stale an acknowledged
write, answered an unexpected 5xx (a 503 with Retry-After is the expected outage answer; a 500 never is), or
could not run. `FILMO_FAULTS_SABOTAGE=1` deletes one indexed document behind the indexer's back (faults 1-4)
to show the checks catch a loss (its report goes to .data/faults/logs, not bench/results). Stop the services afterwards with
`FILMO_DATA_DIR=.data/faults bash infra/services.sh down`.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.faults import common

FAULTS = ["opensearch_killed", "worker_killed", "postgres_stopped", "redis_restarted", "api_killed_chat"]
RESULTS = common.REPO / "bench" / "results"


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gb = None
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu": cpu, "memory_gb": mem_gb,
            "python": platform.python_version(), "os": platform.platform()}


def git_describe() -> str:
    res = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=common.REPO, capture_output=True, text=True,
                         check=False)
    return res.stdout.strip() or "unknown"


def run_one(name: str) -> dict:
    common.log(f"=== {name}")
    started = time.monotonic()
    load_before = os.getloadavg()
    proc = subprocess.run([sys.executable, "-m", f"bench.faults.{name}"], cwd=common.REPO, capture_output=True,
                          text=True, timeout=420, check=False)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    if result is None:
        result = {"fault": name, "ok": False,
                  "failures": [f"no result (exit {proc.returncode}): {(proc.stdout + proc.stderr)[-1500:]}"]}
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["load_average"] = {"before": [round(x, 2) for x in load_before],
                              "after": [round(x, 2) for x in os.getloadavg()]}
    common.log(f"{name}: {'ok' if result.get('ok') else 'FAILED ' + '; '.join(result.get('failures', []))}")
    return result


def _cell(d: dict | None) -> str:
    return ", ".join(f"{k}: {v}" for k, v in (d or {}).items()) or "-"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Fault suite (issue 14)",
        "",
        (f"Run {report['finished']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB; commit "
         f"`{report['commit']}`; load average at the start {report['load_average_start']}. Command: "
         f"`{report['command']}`. Services: a throw-away set of `infra/services.sh` in `.data/faults`; a fresh "
         "database, index prefix and queue namespace per fault."),
        "",
        ("Faults 1-4: 10 users write through one API process (create a project 30 %, rename one 50 %, rename "
         "the profile 20 %) at ~20 writes/s for 30 s; the fault at 8 s, undone 10-15 s later. Lost = an "
         "acknowledged write missing from PostGIS or OpenSearch; stale = present with an older value or version "
         "(plus `filmo index verify` and the counts on both sides). Fault 5: 12 members chat on one project "
         "through two API processes; B is SIGKILLed with 5 sends per member in flight; its members move to A "
         "2 s later. Lost = an acknowledged message not stored; undelivered = an acknowledged message a member "
         "connected to the surviving process did not get (a moved member: sent after it joined again). An "
         "unanswered send may or may not be stored; both are allowed."),
        "",
        ("| fault | result | writes attempted | acked | answers / acks | transport errors | lost "
         "| stale / undelivered | index verify | recovery |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["faults"]:
        name = r["fault"]
        if "writes_attempted" not in r:
            lines.append(f"| {name} | **FAILED** | - | - | - | - | - | - | - | {'; '.join(r.get('failures', []))} |")
            continue
        if name == "api_killed_chat":
            stale = f"undelivered {r.get('undelivered')}"
            verify = f"{r['checks']['stored_messages']} stored for {r['checks']['acked_messages']} acked"
            recovery = f"moved members chatting again {r.get('recover_s')} s after the kill"
        else:
            stale = str(r.get("stale"))
            v = r["checks"]["index_verify"]
            verify = "ok" if r["checks"]["index_verify_ok"] else f"**{v}**"
            c = r["checks"]["counts"]
            verify += f" (PG/OS projects {c['postgis_projects']}/{c['opensearch_projects']}, profiles " \
                      f"{c['postgis_profiles']}/{c['opensearch_profiles']})"
            recovery = (f"first 2xx {r.get('first_ack_after_restore_s')} s after the service was back "
                        f"(restart took {r.get('restore_took_s')} s); outbox empty "
                        f"{r.get('outbox_drained_after_restore_s')} s after")
        result = "ok" if r.get("ok") else "**FAILED**: " + "; ".join(r.get("failures", []))
        lines.append(f"| {name} | {result} | {r['writes_attempted']} | {r['writes_acked']} | "
                     f"{_cell(r.get('statuses'))} | {_cell(r.get('transport_errors'))} | {r['lost']} | {stale} | "
                     f"{verify} | {recovery} |")
    lines += ["", ("Write latency through the API (faults 1-4; whole run, and writes started while the service "
                   "was away):"), "",
              "| fault | p50 ms | p99 ms | max ms | during the fault: p50 / p99 / max ms | load average after |",
              "|---|---|---|---|---|---|"]
    for r in report["faults"]:
        if r.get("latency_ms"):
            lat, dur = r["latency_ms"], r.get("latency_ms_during_fault") or {}
            lines.append(f"| {r['fault']} | {lat['p50']} | {lat['p99']} | {lat['max']} | "
                         f"{dur.get('p50')} / {dur.get('p99')} / {dur.get('max')} | {r['load_average']['after']} |")
    verdict = "PASSED" if report["ok"] else "FAILED"
    lines += ["", (f"Suite: **{verdict}**. Details per fault (samples of lost or stale ids, unexpected 5xx "
                   "bodies) in `faults.json`."), ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    names = argv or FAULTS
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        print(f"unknown fault(s) {unknown}; choose from {FAULTS}", file=sys.stderr)
        return 2
    load_start = [round(x, 2) for x in os.getloadavg()]
    common.services("up")
    results = [run_one(name) for name in names]
    report = {
        "command": "python -m bench.faults.run " + " ".join(argv),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": git_describe(), "machine": machine(), "load_average_start": load_start,
        "sabotage": os.environ.get("FILMO_FAULTS_SABOTAGE") == "1",
        "faults": results, "ok": all(r.get("ok") for r in results),
    }
    out = common.LOGS if report["sabotage"] else RESULTS  # a sabotaged run is a check of the suite, not a result
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "faults.md").write_text(markdown(report))
    common.log(f"suite {'PASSED' if report['ok'] else 'FAILED'}; {out / 'faults.md'}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
