"""bench/results/alerts.md from bench/results/alerts.json (percolate.py, shoot.py, latency.py write the JSON)."""
from __future__ import annotations

import json

from bench.alerts.common import RESULTS


def _row(name: str, s: dict) -> str:
    return f"| {name} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} |"


def main() -> None:
    data = json.loads((RESULTS / "alerts.json").read_text())
    lines = ["# Saved-search alerts and \"who can work my shoot\" (issue 17)", "",
             "Written by `python -m bench.alerts.report` from `alerts.json`; how each part runs: bench/alerts/*.py.",
             "Every figure was measured on a shared 2-core machine while other helpers ran their tests "
             "(load averages below): absolute times are inflated, the ratios in the same run are the figures "
             "that matter.", ""]
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
    lat = data.get("latency")
    if lat:
        lines += ["## Alert latency: commit to the `notification` event on a socket", "",
                  f"{lat.get('saved_searches_in_index')} saved searches in the index. Load before: "
                  f"`{lat['machine_before']['load_average']}`; after: `{lat['machine_after']['load_average']}`.", "",
                  "| measure | n | p50 ms | p95 ms | mean ms |", "|---|---|---|---|---|",
                  _row("commit → notification on the watcher's socket", lat["commit_to_socket"]),
                  _row("reference: commit → project searchable", lat["commit_to_searchable_reference"]), "",
                  f"Ratio p95 alert / searchable: {lat['ratio_p95_alert_over_searchable']}. Target p95 ≤ 2000 ms.", ""]
    shoot = data.get("shoot_100k")
    if shoot:
        lines += ["## \"Who can work my shoot\" at 100k profiles", "",
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
                  f"{shoot['ratio_p95_opensearch_over_postgis']}. Target p95 ≤ 50 ms at 1M profiles (1M not run: "
                  "see the note below).", ""]
    lines += ["## Reading these figures", "",
              "- The generated saved searches are deliberately dense: 20 film cities, 75 % of searches a circle of "
              "10-150 km around one of them, 15 % with no place at all. A short film in Los Angeles matches ~5-6 % "
              "of all saved searches (~5,300 of 100k), so the cost per changed project grows with the *matches* "
              "(each must be verified and delivered), which the pre-filter cannot remove. What the pre-filter "
              "removes is the verification of the saved searches that cannot match (other cities, types, skills): "
              "the with/without ratio.",
              "- Alert latency includes the whole delivery of every match of the project (thousands of "
              "notifications stored and pushed) before the watcher's arrives; targets were missed at this density "
              "and load (see the load averages).",
              "- \"Who can work my shoot\" was measured at 100k profiles only; the 1M run (the issue's target size) "
              "was not done in the time available.",
              "- The first pages of the two engines were the same people with the same totals in every run checked; "
              "where the order differed, it was between people whose scores agree to 6 decimals (OpenSearch scores "
              "are float32).", ""]
    (RESULTS / "alerts.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
