"""Change settings for a while through their environment variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from educonnect.settings import get_settings


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """Set these environment variables (e.g. SMS_GATEWAY_URL=...) and reload the
    settings; afterwards put back what was there and reload them again."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
