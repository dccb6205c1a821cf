"""Changing the app's settings for one test (they are read from the environment, cached)."""
from __future__ import annotations

import pytest


def use_settings(mp: pytest.MonkeyPatch, **env: str) -> None:
    """Set environment variables through `mp` and drop the cached settings so the app reads them."""
    from api.kernel.settings import get_settings

    for key, value in env.items():
        mp.setenv(key, value)
    get_settings.cache_clear()
