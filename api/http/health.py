"""Liveness and readiness probes."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.http.errors import problem_response
from api.kernel.redis import get_redis
from api.kernel.settings import get_settings
from db.session import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict:
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

    async with httpx.AsyncClient(timeout=2.0) as client:
        resp = await client.get(f"{settings.opensearch_url}/_cluster/health")
        resp.raise_for_status()
        status = resp.json()["status"]
    if status == "red":
        raise RuntimeError("cluster status red")
    return status


@router.get("/readyz", summary="PostGIS, Redis and OpenSearch are reachable")
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
    if down:
        return problem_response(503, f"Not ready: {', '.join(down)} down", services=report)
    return JSONResponse({"status": "ready", "services": report})
