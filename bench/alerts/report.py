"""bench/results/alerts.md from bench/results/alerts.json (percolate.py, shoot.py, latency.py write the JSON)."""
from __future__ import annotations

import json

from bench.alerts.common import RESULTS


def _row(name: str, s: dict) -> str:
    return f"| {name} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} |"

def _shoot_section(title: str, shoot: dict, target: bool) -> list[str]:
    return [f"## \"Who can work my shoot\" at {title}", "",
            f"{shoot['people']} profiles; {shoot['matches_mean']} people found per shoot on average; the first "
            f"pages were identical on both engines in {shoot['same_first_page_on_both_engines']} runs. Load "
            f"before: `{shoot['machine_before']['load_average']}`; after: `{shoot['machine_after']['load_average']}`.",
            "", "| query | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|",
            _row("PostGIS: who can work my shoot", shoot["postgis"]),
            _row("PostGIS reference: people with the skill within 50 km", shoot["postgis_reference"]),
            _row("OpenSearch: who can work my shoot (2 requests)", shoot["opensearch"]),
            _row("OpenSearch reference: people with the skill within 50 km", shoot["opensearch_reference"]), "",
            f"Ratios p95: PostGIS / its reference {shoot['ratio_p95_postgis_over_reference']}, OpenSearch / its "
            f"reference {shoot['ratio_p95_opensearch_over_reference']}, OpenSearch / PostGIS "
            f"{shoot['ratio_p95_opensearch_over_postgis']}." + (" Target p95 ≤ 50 ms." if target else ""), ""]


def main() -> None:
    data = json.loads((RESULTS / "alerts.json").read_text())
    lines = ["# Saved-search alerts and \"who can work my shoot\" (issue 17)", "",
             "Written by `python -m bench.alerts.report` from `alerts.json`; how each part runs: bench/alerts/*.py.",
             "Every figure was measured on a shared 2-core machine while other helpers ran their tests "
             "(load averages below): absolute times are inflated, the ratios in the same run are the figures "
             "that matter.", ""]
    targets = []
    if "latency_before" in data and "latency" in data:
        targets.append(("alert latency p95 ≤ 2000 ms at 100k saved searches (commit → socket)",
                        data["latency_before"]["commit_to_socket"]["p95_ms"], data["latency"]["commit_to_socket"]["p95_ms"],
                        2000))
    if "shoot_1m_before" in data and "shoot_1m" in data:
        for engine, name in (("postgis", "PostGIS"), ("opensearch", "OpenSearch")):
            targets.append((f"who can work my shoot p95 ≤ 50 ms at 1M profiles, {name}",
                            data["shoot_1m_before"][engine]["p95_ms"], data["shoot_1m"][engine]["p95_ms"], 50))
    if targets:
        lines += ["## Targets", "", "| target | before p95 ms | after p95 ms | after / before | met |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {b} | {a} | {round(a / b, 2)} | {'yes' if a <= limit else 'no, by ' + str(round(a - limit)) + ' ms'} |"
                  for name, b, a, limit in targets]
        lines += ["", "Each before/after pair, its machine and load: the sections below.", ""]
    perc = data.get("percolation")
    if perc:
        lines += ["## Percolation cost per changed project", "",
                  f"Machine: {perc['machine_before']['nproc']} cores, {perc['machine_before']['cpu']}; before: "
                  f"`{perc['machine_before']['load_average']}`; after: `{perc['machine_after']['load_average']}`.", "",
                  "| saved searches | query | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|---|"]
        for size, r in perc["sizes"].items():
            for key, label in (("with_prefilter", "percolate with the type + skill + area pre-filter (the indexer's)"),
                               ("without_prefilter_reference", "reference: percolate alone")):
                s = r[key]
                lines.append(f"| {size} | {label} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} |")
            if "postgis_path" in r:
                s = r["postgis_path"]
                lines.append(f"| {size} | PostGIS path (SQL pre-filter, then each candidate) | {s['n']} | "
                             f"{s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} |")
        lines += ["", "| saved searches | p95 with / without pre-filter | matching saved searches per project (mean) |",
                  "|---|---|---|"]
        lines += [f"| {size} | {r['ratio_p95_with_over_without']} | {r['matches_per_project_mean']} |"
                  for size, r in perc["sizes"].items()]
        lines += [""] + [f"- {size}: load before `{r['machine_before']['load_average']}`, after "
                         f"`{r['machine_after']['load_average']}`; the reference ran on every "
                         f"{r.get('reference_every', 10)}th project" for size, r in perc["sizes"].items() if "machine_before" in r]
        sizes = list(perc["sizes"])
        if len(sizes) >= 2:
            a, b = perc["sizes"][sizes[0]], perc["sizes"][sizes[-1]]
            lines += ["", f"Growth from {sizes[0]} to {sizes[-1]} saved searches ({int(sizes[-1]) // int(sizes[0])}x): "
                          f"p95 x{round(b['with_prefilter']['p95_ms'] / a['with_prefilter']['p95_ms'], 2)} with the "
                          f"pre-filter, x{round(b['without_prefilter_reference']['p95_ms'] / a['without_prefilter_reference']['p95_ms'], 2)} "
                          f"without; matches per project x{round(b['matches_per_project_mean'] / max(a['matches_per_project_mean'], 0.01), 2)}."]
        lines.append("")
    before, after = data.get("stages_before"), data.get("stages_after")
    if before and after:
        lines += ["## Where an alert's time goes (bench/alerts/stages.py)", "",
                  f"Los Angeles short films ({before['notifications_per_project_mean']} notifications per project on "
                  f"average), stage by stage in one process; before = ba961f0 (where this work started), after = "
                  f"this code. Before: load `{before['machine_before']['load_average']}` → "
                  f"`{before['machine_after']['load_average']}`; after: load `{after['machine_before']['load_average']}` "
                  f"→ `{after['machine_after']['load_average']}`.", "",
                  "| run | stage | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|---|"]
        for label, run in (("before", before), ("after", after)):
            lines += [f"| {label} | {name.replace('_', ' ')} | {st['n']} | {st['p50_ms']} | {st['p95_ms']} | "
                      f"{st['mean_ms']} |" for name, st in run["stages"].items()]
        until = ("percolate", "split_connected_first", "connected_verify_and_store", "connected_commit_and_push")
        watcher_before = sum(before["stages"][k]["p50_ms"] for k in ("percolate", "all_verify_and_store",
                                                                     "all_commit_and_push"))
        watcher_after = sum(after["stages"][k]["p50_ms"] for k in until if k in after["stages"])
        lines += ["", f"Sum of the p50s a connected watcher waits for (percolate → their push): before "
                      f"{round(watcher_before)} ms (everyone's notifications stored and pushed first), after "
                      f"{round(watcher_after)} ms; ratio {round(watcher_after / watcher_before, 2)}.", ""]
    for key, title in (("latency_before", "before"), ("latency", "after")):
        if key not in data:
            continue
        lat = data[key]
        lines += [f"## Alert latency ({title}): commit to the `notification` event on a socket", "",
                  f"{lat.get('saved_searches_in_index')} saved searches in the index. Load before: "
                  f"`{lat['machine_before']['load_average']}`; after: `{lat['machine_after']['load_average']}`.", "",
                  "| measure | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|",
                  _row("commit → notification on the watcher's socket", lat["commit_to_socket"]),
                  _row("reference: commit → project searchable", lat["commit_to_searchable_reference"]), "",
                  f"Ratio p95 alert / searchable: {lat['ratio_p95_alert_over_searchable']}. Target p95 ≤ 2000 ms.", ""]
    for key, title, target in (
            ("shoot_1m_before", "1M profiles, before (people with the skill, then each one measured)", True),
            ("shoot_1m", "1M profiles, after (reach keys first)", True),
            ("shoot_100k", "100k profiles (earlier run, the code before the reach keys)", False)):
        if data.get(key):
            lines += _shoot_section(title, data[key], target)
    lines += ["## Reading these figures", "",
              "- The generated saved searches are deliberately dense: 20 film cities, 75 % of searches a circle of "
              "10-150 km around one of them, 15 % with no place at all. A short film in Los Angeles matches ~5-6 % "
              "of all saved searches (~6,000 of 100k, ~5,400 people), so the cost per changed project grows with the "
              "*matches* (each must be verified and delivered), which the pre-filter cannot remove. What the "
              "pre-filter removes is the verification of the saved searches that cannot match (other cities, types, "
              "skills): the with/without ratio.",
              "- The percolation table: the 10k rows are from the earlier run (01:48, the ids read as hits, at load "
              "12-28); the 100k rows were re-run after this work (the ids read as a composite aggregation: with hits, "
              "the fetch phase ran every matching stored query a second time). The growth line mixes the two request "
              "shapes and loads: read it with care. The earlier 100k run (hits, load 7-9) had p50 1076 / p95 3086 ms.",
              "- Alert latency, before: the watcher's notification waited until every match of the project "
              "(~5,400 notifications) was verified, stored and pushed, one Redis round trip each, in the order of "
              "the owners' ids. After: the percolation returns ids only (no fetch phase, about half the time), the "
              "alert job delivers the people with a socket open first in a transaction of their own, and the rest "
              "(one set-based INSERT, one pipelined push per 1,000) follows; stages.py shows each part. What remains "
              "on the watcher's path is mostly the percolation itself (~0.5-0.7 s here: ~8,000 candidates pass the "
              "pre-filter, ~6,000 stored queries match) and the two queue hops.",
              "- Who can work my shoot at 1M, before: both engines read every person with the skill (~30,000 for a "
              "common one) and measured each; the planner also ran PostgreSQL's query in parallel workers and "
              "compiled it (JIT, ~23 ms). After: reach keys (api/kernel/reach_cells.py: per skill, the grid cells a "
              "person's own reach may touch; a GIN expression index in PostGIS, a `reach_keys` field in OpenSearch) "
              "narrow the candidates to ~4,000 for Los Angeles and a common skill, the exact rule runs on those, and "
              "the PostGIS query runs without parallel workers or JIT. Both meet the 50 ms p95 target at 1M in the "
              "runs above (load averages 2.5-4.7 on 2 cores); PostGIS stays the slower engine (it must read each "
              "candidate's heap row: ~4,000 random pages for the densest city).",
              "- The before/after runs of one part were made minutes apart on the same shared machine, not "
              "interleaved: compare them with their load lines.",
              "- The first pages of the two engines were the same people with the same totals in every run checked; "
              "where the order differed, it was between people whose scores agree to 6 decimals (OpenSearch scores "
              "are float32).", ""]
    (RESULTS / "alerts.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
