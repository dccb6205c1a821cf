"""The ASGI application: FastAPI under /api/v1, Socket.IO at /socket.io, health probes at the root."""
from __future__ import annotations

from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.applications.router import router as applications_router
from api.auth.router import router as auth_router
from api.availability.router import router as availability_router
from api.chat.router import dm_router
from api.chat.router import router as chat_router
from api.discover.router import router as discover_router
from api.http.docs import install_docs
from api.http.errors import ErrorBoundary, install_error_handlers
from api.http.head import HeadAsGet
from api.http.health import router as health_router
from api.http.input_guard import InputGuard
from api.http.metrics import RequestMetrics, watch_socketio
from api.http.metrics import router as metrics_router
from api.http.openapi import TAGS, install_openapi, operation_id
from api.notifications.router import router as notifications_router
from api.kernel.logging import configure_logging
from api.kernel.redis import close_redis
from api.kernel.settings import get_settings
from api.profiles.router import router as profiles_router
from api.projects.router import router as projects_router
from api.saved_searches.router import router as saved_searches_router
from api.search.router import router as search_router
from api.skills.router import router as skills_router
from api.tiles.router import router as tiles_router
from api.team.router import router as team_router
from api.uploads.router import router as uploads_router
from api.uploads.storage import media_app
from db.session import dispose_engine
from realtime.handlers import sio  # the Socket.IO server, with every event handler registered

API_PREFIX = "/api/v1"
DOMAIN_ROUTERS = [auth_router, profiles_router, skills_router, projects_router, applications_router, team_router,
                  chat_router, dm_router, uploads_router, search_router, notifications_router, saved_searches_router,
                  availability_router,
                  tiles_router]


@asynccontextmanager
async def lifespan(_: FastAPI):
    yield
    await dispose_engine()
    await close_redis()


def create_app() -> FastAPI:
    configure_logging()
    settings = get_settings()
    app = FastAPI(title="Filmo API", version="1.0.0", lifespan=lifespan,
                  description="Geo-search platform for film production collaboration. "
                              "Sign in with **Authorize** (email + password) to try the protected endpoints. "
                              "Every error is `application/problem+json` with a machine `code` "
                              "(`GET /problems` lists them).",
                  openapi_tags=TAGS, generate_unique_id_function=operation_id,
                  # Served by install_docs from a Python package: no CDN, so they work offline.
                  docs_url=None, redoc_url=None)
    # Middleware added last runs first: CORS, then ErrorBoundary (any exception left becomes a 500/503
    # problem answer, with CORS headers, on a connection that stays open), then InputGuard (body limit,
    # control characters) before routing. The uploads stream their bodies within their own limits.
    app.add_middleware(InputGuard, streamed_prefixes=(f"{API_PREFIX}{uploads_router.prefix}/",))
    # Counts every answer by route template and status, the input guard's and the error boundary's too.
    app.add_middleware(RequestMetrics)
    app.add_middleware(ErrorBoundary)
    app.add_middleware(CORSMiddleware, allow_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
                       allow_credentials=True, allow_methods=["*"], allow_headers=["*"],
                       # Browsers hide other response headers from scripts: pagination and back-off hints.
                       expose_headers=["X-Total-Count", "X-Page", "X-Limit", "Retry-After", "X-Next-Cursor",
                                       "X-Search-Engine", "X-Total-Relation", "Link", "ETag"])
    # Outermost: a HEAD runs as the GET it mirrors, and its body is dropped (api/http/head.py).
    app.add_middleware(HeadAsGet)
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.include_router(health_router)
    app.include_router(health_router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(metrics_router)  # GET /metrics (Prometheus; loopback or METRICS_TOKEN)
    app.include_router(discover_router)  # the reference discovery page at /discover (api/discover)
    for router in DOMAIN_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if settings.storage_backend == "local":
        # Uploaded files (local backend) at /media: exact content types, nosniff, immutable caching.
        app.mount(settings.media_url_prefix, media_app(settings), name="media")
    return app


fastapi_app = create_app()
# Socket.IO answers at /socket.io; everything else goes to FastAPI.
app = socketio.ASGIApp(sio, other_asgi_app=fastapi_app, socketio_path="socket.io")
watch_socketio(sio)  # Socket.IO connections and rooms of this process on /metrics
