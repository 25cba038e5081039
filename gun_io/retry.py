"""The reconnect policy: ``retry``, ``retry_timeout`` and ``retry_fun``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gun_core.errors import BadOption

__all__ = ["RetryFun", "default_retry_fun", "next_retry"]

RetryFun = Callable[[int, Mapping[str, Any]], Mapping[str, Any]]


def default_retry_fun(retries: int, opts: Mapping[str, Any]) -> dict[str, Any]:
    """Gun's default: one attempt less each time, ``retry_timeout`` apart."""
    return {"retries": retries - 1, "timeout": opts.get("retry_timeout", 5.0)}


def next_retry(fun: RetryFun, retries: int, opts: Mapping[str, Any]) -> tuple[int, float]:
    """Ask ``fun`` for the next attempt; return ``(retries_left_after, delay_s)``."""
    result = fun(retries, opts)
    if not isinstance(result, Mapping) or "retries" not in result or "timeout" not in result:
        raise BadOption(f"retry_fun must return {{'retries': n, 'timeout': s}}, not {result!r}")
    n, t = result["retries"], result["timeout"]
    if isinstance(n, bool) or not isinstance(n, int) or isinstance(t, bool) or not isinstance(t, (int, float)):
        raise BadOption(f"retry_fun returned ill-typed values: {result!r}")
    return n, max(0.0, float(t))
