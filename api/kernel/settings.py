"""All configuration, in one object: from the environment (or a .env file); see .env.example."""
from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
WEAK_SECRETS = {"", "secret", "changeme", "change-me", "dev-secret-key-not-for-production"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # dev: local defaults, OTP mails to .data/mail; test: pytest; prod: strict checks.
    filmo_env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"
    log_json: bool = True

    # --- services (the seed's DATABASE_URL keeps working) ---
    database_url: str = "postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo"
    db_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:6380/0"
    # Per process and event loop; callers beyond it wait for a free connection (up to 20 s).
    redis_max_connections: int = Field(64, ge=4)
    # Empty means: no OpenSearch, the PostGIS search engine answers alone.
    opensearch_url: str = "http://127.0.0.1:9201"
    opensearch_index_prefix: str = "filmo_"
    opensearch_timeout_s: float = 5.0
    # After an OpenSearch failure, search skips it (PostGIS answers) for this long, per process.
    search_breaker_cooldown_s: float = 30.0
    # Search totals are exact up to this many matches and "at least this many" (total_relation "gte") beyond,
    # in both engines: counting a 170k-project radius exactly on every page was most of a second at 1M.
    search_total_exact_up_to: int = Field(10_000, ge=1)
    # The PostGIS engine counts facets over at most this many matches (the largest of the two bounds, plus one):
    # exact below it, counts within that sample (lower bounds) beyond. Counting every match of a 50 km radius
    # at 1M projects was ~0.5 s p95 (bench/results/search_1m.md, shape e). OpenSearch's facets stay exact.
    search_facets_exact_up_to: int = Field(10_000, ge=1)
    # People search per caller (user, or IP when signed out) and minute: slows location probing.
    search_users_per_minute: int = 60
    # Map tiles: the pre-aggregated default map (zoom <= 6) is refreshed when older than this (api/tiles).
    map_grid_max_age_s: float = Field(10.0, ge=0)
    # Chat messages (project and direct, sent or edited, socket or REST) per person and minute:
    # far above how people type, low enough to stop a script flooding a room.
    chat_messages_per_minute: int = 60
    # Unsubscribe links (GET page and POST, no sign-in) per client address and minute: the tokens are signed, so
    # guessing is hopeless; the limit keeps a flood of bad tokens cheap.
    unsubscribe_per_minute: int = Field(30, ge=1)
    # Sign-in, one-time codes (sent, verified) and password resets: attempts per e-mail address and per
    # client address within a window (seconds); guessing a password or a 6-digit code must stay slow.
    auth_login_per_email: int = Field(10, ge=1)
    auth_login_per_ip: int = Field(50, ge=1)
    auth_login_window_s: int = Field(900, ge=1)
    auth_send_otp_per_email: int = Field(6, ge=1)
    auth_send_otp_per_ip: int = Field(20, ge=1)
    auth_send_otp_window_s: int = Field(3600, ge=1)
    auth_verify_per_email: int = Field(10, ge=1)
    auth_verify_per_ip: int = Field(30, ge=1)
    auth_verify_window_s: int = Field(900, ge=1)
    auth_reset_per_email: int = Field(10, ge=1)
    auth_reset_per_ip: int = Field(30, ge=1)
    auth_reset_window_s: int = Field(900, ge=1)
    # Namespace for Dramatiq queues and Socket.IO channels, so test runs never cross.
    queue_namespace: str = "filmo"

    # --- auth (seed names) ---
    # Empty: refused outside dev; in dev each process generates its own (see get_settings).
    secret_key: str = ""
    algorithm: str = "HS256"
    access_token_expire_minutes: int | None = None
    access_token_expire_hours: float = 0.25
    refresh_token_expire_days: int = 30
    # One-time codes: a new code for the same address at most this often (seconds; 0 = no cooldown).
    otp_resend_cooldown_s: int = Field(60, ge=0)
    frontend_link: str = "http://localhost:3000"
    cors_origins: str = "http://localhost:3000"
    # Proxies whose X-Forwarded-For / -Proto `filmo serve` believes (comma-separated IPs or networks, "*" = any).
    # Empty = none: the client address (rate limits) is the connection's peer, whatever headers it sends.
    forwarded_allow_ips: str = ""

    # --- email (seed names); empty SMTP_SERVER in dev = write mails to log + folder ---
    smtp_email: str = "no-reply@filmo.local"
    smtp_password: str = ""
    smtp_username: str = ""
    smtp_server: str = ""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    # PEM bundle to trust for a private relay's certificate; empty = the system's CAs.
    smtp_ca_file: str = ""
    mail_dir: Path = REPO_ROOT / ".data" / "mail"

    # --- metrics (README "Metrics") ---
    # GET /metrics on the API answers clients on this machine (loopback, not through a proxy); with a token set,
    # also anyone sending `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: str = ""
    # The worker's own /metrics port (0 = off). No access control of its own: keep it on loopback or a private
    # network.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(9191, ge=0, le=65535)

    # --- HTTP requests ---
    # Largest request body (bytes) on every route but the uploads, which stream within their own
    # UPLOAD_*_MAX_BYTES. The largest legitimate body, a project with 50 roles and every text field
    # full, is ~0.7 MB in Latin script and ~1.9 MB in CJK; anything bigger is refused with 413.
    request_max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)

    # --- uploads ---
    storage_backend: Literal["local", "s3"] = "local"
    media_root: Path = REPO_ROOT / ".data" / "media"
    media_url_prefix: str = "/media"
    public_base_url: str = "http://127.0.0.1:8000"
    s3_endpoint_url: str = ""
    s3_bucket: str = "filmo-media"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_public_base_url: str = ""
    # Limits for uploaded files (bytes; pixels = width x height of a decoded image).
    upload_photo_max_bytes: int = 5 * 1024 * 1024
    upload_portfolio_max_bytes: int = 50 * 1024 * 1024
    upload_max_image_pixels: int = 40_000_000
    upload_portfolio_max_items: int = 100

    # --- scheduler ---
    cleanup_hour_utc: int = Field(2, ge=0, le=23)

    # --- real time (Socket.IO) ---
    # Every process refreshes the last-seen score of its connections this often ...
    presence_heartbeat_s: float = Field(5.0, gt=0)
    # ... and a connection not refreshed for this long counts as gone (a crashed process's users
    # disappear after at most expiry + one sweep interval = 25 s with the defaults).
    presence_expiry_s: float = Field(20.0, gt=0)
    # Largest Engine.IO packet accepted; bigger frames close that one connection.
    realtime_max_payload_bytes: int = Field(64 * 1024, ge=8 * 1024)
    # Open connections are re-checked this often: a deactivated account, a password reset or a
    # logout ends them without waiting for the access token to expire.
    realtime_revalidate_s: float = Field(30.0, gt=0)
    # At most one typing event per user and room in this interval.
    chat_typing_interval_s: float = Field(2.0, ge=0)
    # A reconnecting client gets at most this many missed messages per room (or DM) on rejoin; beyond it,
    # it is told to page the history (realtime/README.md, "Reconnecting").
    chat_recovery_max_messages: int = Field(200, ge=1, le=1000)
    # Overload shedding per process (realtime/overload.py): past any of these, new sends are refused with
    # `overloaded` and a retry hint; past half of one, typing and presence broadcasts are dropped.
    realtime_shed_lag_ms: float = Field(250.0, gt=0)  # event-loop lag
    realtime_shed_queue_depth: int = Field(20_000, ge=1)  # packets waiting in the process's socket queues
    realtime_shed_db_wait_ms: float = Field(250.0, gt=0)  # a send's wait to be stored (queue, pool, statement)
    # how late broadcasts reach this process's sockets (publish -> local fan-out, through Redis pub/sub)
    realtime_shed_delivery_age_ms: float = Field(250.0, gt=0)
    # Admission cap: sends (project messages, DMs, edits) a process accepts per second, the rest refused with
    # `overloaded` at once; 0 = no cap. 0.8 x bench/realtime's capacity / processes (realtime/README.md, "Overload").
    realtime_max_sends_per_s: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _presence_expiry_covers_heartbeats(self) -> "Settings":
        if self.presence_expiry_s < 2 * self.presence_heartbeat_s:
            raise ValueError("PRESENCE_EXPIRY_S must be at least twice PRESENCE_HEARTBEAT_S")
        if self.presence_expiry_s + self.presence_heartbeat_s > 30:
            raise ValueError("PRESENCE_EXPIRY_S + PRESENCE_HEARTBEAT_S must stay within 30 s")
        return self

    @property
    def access_token_ttl_seconds(self) -> int:
        if self.access_token_expire_minutes is not None:
            return int(self.access_token_expire_minutes * 60)
        return int(self.access_token_expire_hours * 3600)

    @property
    def is_prod(self) -> bool:
        return self.filmo_env == "prod"


class UnsafeSettings(RuntimeError):
    """Raised at start-up; the message names the setting but never echoes any value."""


def _refuse_unsafe(settings: Settings) -> None:
    if settings.filmo_env != "dev" and (settings.secret_key in WEAK_SECRETS or len(settings.secret_key) < 32):
        raise UnsafeSettings("SECRET_KEY is missing or weak: outside dev mode set at least 32 random characters")
    if settings.algorithm not in {"HS256", "HS384", "HS512"}:
        raise UnsafeSettings("ALGORITHM must be one of HS256, HS384, HS512")


_process_key: str | None = None


def _generated_dev_key() -> str:
    """A random signing key for this process, made once: it outlives get_settings.cache_clear(), so tokens
    and one-time codes stay valid while the process runs. The key itself is never logged."""
    global _process_key
    if _process_key is None:
        _process_key = secrets.token_urlsafe(48)
        logging.getLogger("filmo.settings").warning(
            "SECRET_KEY is empty: this process signs access tokens and one-time codes with a key generated at "
            "start-up (dev mode only). They stop working when the process restarts, and every other API process "
            "has a different key, so a token from one is refused by another: set SECRET_KEY to run several.")
    return _process_key


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    _refuse_unsafe(settings)
    if not settings.secret_key:  # dev mode (anything else was refused above)
        settings.secret_key = _generated_dev_key()
    return settings
