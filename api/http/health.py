"""Probes. /livez (alias /healthz): the process answers; restart it otherwise. /readyz: it can serve
traffic; send it none otherwise.

Ready means PostGIS and Redis answer: without them no request can be served (data, rate limits,
sessions, queues). OpenSearch is not required: search falls back to PostGIS, so OpenSearch down
keeps the process ready (200) and the body names the degradation; a 503 would make a load balancer
pull every API process at once over a slower search.
"""
from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.http.errors import problem_response
from api.http.openapi import problems
from api.kernel.redis import get_redis
from api.kernel.settings import get_settings
from db.session import get_engine

router = APIRouter(tags=["health"])


@router.get("/livez", name="livez", summary="The process is alive")
@router.get("/healthz", name="healthz", summary="The process is alive (alias of /livez)")
async def livez() -> dict:
    return {"status": "ok"}


async def _check_postgis() -> str:
    async with get_engine().connect() as conn:
        return str(await conn.scalar(text("SELECT postgis_lib_version()")))


async def _check_redis() -> str:
    await get_redis().ping()
    return "PONG"


async def _check_opensearch() -> str:
    settings = get_settings()
    if not settings.opensearch_url:
        return "not configured (PostGIS search engine)"
    import httpx

    # OPENSEARCH_URL may list a cluster's nodes: the first that answers speaks for the cluster.
    urls = [url.strip() for url in settings.opensearch_url.split(",") if url.strip()]
    async with httpx.AsyncClient(timeout=2.0) as client:
        for i, url in enumerate(urls):
            try:
                resp = await client.get(f"{url}/_cluster/health")
                resp.raise_for_status()
                break
            except httpx.HTTPError:
                if i == len(urls) - 1:
                    raise
        status = resp.json()["status"]
    if status == "red":
        raise RuntimeError("cluster status red")
    return status


# What each service's absence costs; a service not listed here is required.
DEGRADATIONS = {"opensearch": "search: PostGIS fallback"}


@router.get("/readyz", name="readyz",
            summary="Can serve traffic: PostGIS and Redis reachable (OpenSearch down = degraded)",
            responses=problems(503, s503="Not ready: PostGIS or Redis is down (`services` says which)"))
async def readyz():
    checks = {"postgis": _check_postgis, "redis": _check_redis, "opensearch": _check_opensearch}
    results = await asyncio.gather(*(asyncio.wait_for(fn(), 3.0) for fn in checks.values()), return_exceptions=True)
    report, down = {}, []
    for name, result in zip(checks, results):
        if isinstance(result, BaseException):
            report[name] = {"up": False}
            down.append(name)
        else:
            report[name] = {"up": True, "info": result}
    required = [name for name in down if name not in DEGRADATIONS]
    if required:
        return problem_response(503, f"Not ready: {', '.join(required)} down", services=report)
    degraded = [DEGRADATIONS[name] for name in down]
    return JSONResponse({"status": "degraded" if degraded else "ready", "degraded": degraded, "services": report})
