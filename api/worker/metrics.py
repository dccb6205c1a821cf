"""The worker's `/metrics`: a small HTTP port (prometheus-client's server) in each worker process.

Started once the worker has booted (Dramatiq's `after_worker_boot`), on WORKER_METRICS_HOST:WORKER_METRICS_PORT
(127.0.0.1:9191 by default; 0 turns it off). It has no access control of its own: keep it on loopback or a
private network. With several worker processes on one machine the first one takes the port and the others
say so once; every number but the relay's is read from Redis and PostGIS, so any of them tells the same.
The numbers: this process's defaults (CPU, memory) and every module in COLLECTOR_MODULES (by name, as
TASK_MODULES: the job runner does not import the packages it runs).
"""
from __future__ import annotations

import importlib
import logging

import dramatiq
from prometheus_client import start_http_server

from api.kernel.settings import get_settings

log = logging.getLogger("filmo.worker.metrics")

COLLECTOR_MODULES = ["indexer.metrics"]


class MetricsPort(dramatiq.Middleware):
    def after_worker_boot(self, broker, worker) -> None:
        settings = get_settings()
        if not settings.worker_metrics_port:
            return
        for name in COLLECTOR_MODULES:
            importlib.import_module(name).register()
        try:
            start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
        except OSError as exc:
            log.warning("worker metrics not served by this process: %s:%s is taken (%s); another worker process "
                        "of this machine serves it", settings.worker_metrics_host, settings.worker_metrics_port, exc)
            return
        log.info("worker metrics on http://%s:%s/metrics", settings.worker_metrics_host, settings.worker_metrics_port)
