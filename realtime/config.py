"""Real-time settings (environment variables, like api/core/settings.py; kept here so the chat
transport can be tuned without touching the shared settings)."""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class RealtimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

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

    @model_validator(mode="after")
    def _expiry_covers_heartbeats(self) -> "RealtimeSettings":
        if self.presence_expiry_s < 2 * self.presence_heartbeat_s:
            raise ValueError("PRESENCE_EXPIRY_S must be at least twice PRESENCE_HEARTBEAT_S")
        if self.presence_expiry_s + self.presence_heartbeat_s > 30:
            raise ValueError("PRESENCE_EXPIRY_S + PRESENCE_HEARTBEAT_S must stay within 30 s")
        return self


@lru_cache
def get_realtime_settings() -> RealtimeSettings:
    return RealtimeSettings()
