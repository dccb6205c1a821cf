"""Prometheus numbers counted inside a process (prometheus-client's default registry), for `/metrics`.

Counted where they happen: HTTP answers by route template and status (api/http/metrics.py), search time by
engine (api/search/service.py). What is read from the services at scrape time instead (outbox backlog, index
drift, reindex progress, queue depths) lives with its owner: indexer/metrics.py. README "Metrics" lists
every number and what to alert on.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("filmo_http_requests", "HTTP answers by method, route template and status.",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("filmo_http_request_seconds", "Time to answer an HTTP request, by route template.",
                         ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SEARCH_SECONDS = Histogram("filmo_search_seconds", "Time an engine took for a search operation "
                                                   "(engine: opensearch or postgis; a failed OpenSearch try counts "
                                                   "under opensearch with outcome=error).",
                           ["engine", "operation", "outcome"],
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
