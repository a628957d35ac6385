"""Waiting for an effect that arrives over a real socket, a little after the call that caused
it (Slack listeners run after the HTTP response; the fake Discord and discord.py talk over a
gateway)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(predicate: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll until `predicate()` (or what it returns, if awaitable) is truthy, and return that;
    an AssertionError after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
