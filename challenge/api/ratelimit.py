"""Rate limits on the endpoints that check or issue credentials, kept by the `limits` library.

Counters live in Redis when the platform runs on Redis (its broker, or
`MLCHALLENGE_RATE_LIMIT_STORAGE`), so every API process shares them; in memory on the embedded
default (one API process). A route opts in with `dependencies=[rate_limit("login")]`; the rules
are settings (`MLCHALLENGE_RATE_LIMIT_LOGIN`, ...) in the `limits` notation, e.g. `10/minute`.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from challenge.config import Settings
from challenge.errors import RateLimited

log = logging.getLogger(__name__)

RULES = {
    "login": ("rate_limit_login", "login attempts from your address"),
    "login_user": ("rate_limit_login_user", "login attempts for this username"),
    "register": ("rate_limit_register", "registrations from your address"),
    "tokens": ("rate_limit_tokens", "requests for new tokens from your address"),
}
"""Rule name -> (the setting that holds its limits, what is counted)."""


def storage_uri(settings: Settings) -> str:
    """Where the counters live: the setting, else the broker when it is Redis, else memory."""
    if settings.rate_limit_storage:
        return settings.rate_limit_storage
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return settings.broker_url
    return "memory://"


class RateLimiter:
    """Moving-window counters per rule and key (a client address or a username)."""

    def __init__(self, settings: Settings) -> None:
        self.uri = storage_uri(settings)
        self._strategy = MovingWindowRateLimiter(storage_from_string(self.uri))
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(getattr(settings, field)) for name, (field, _) in RULES.items()
        }
        self.enabled = settings.rate_limits

    def check(self, rule: str, key: str) -> None:
        """Count one request of `key` under `rule`; raise RateLimited when a limit is reached."""
        if not self.enabled:
            return
        for item in self._rules[rule]:
            try:
                allowed = self._strategy.hit(item, rule, key)
                stats = None if allowed else self._strategy.get_window_stats(item, rule, key)
            except Exception:  # the counters' store is down: let the request through, say so
                log.warning("rate limit store %s failed; %s not limited", self.uri, rule)
                return
            if stats is not None:
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(
                    f"too many {RULES[rule][1]} (at most {item}); retry in {retry_after} s, "
                    f"at {time.strftime('%H:%M:%S UTC', time.gmtime(time.time() + retry_after))}",
                    retry_after=retry_after,
                )


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    """Give the application its limiter."""
    app.state.rate_limiter = RateLimiter(settings)


def limiter(request: Request) -> RateLimiter:
    """The application's limiter."""
    found: RateLimiter = request.app.state.rate_limiter
    return found


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: run uvicorn with
    `--proxy-headers` and the proxy's address in `--forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


def rate_limit(rule: str) -> Any:
    """A route dependency that counts the caller's address under `rule` (see RULES)."""
    if rule not in RULES:
        raise ValueError(f"unknown rate limit rule {rule!r}; rules: {', '.join(RULES)}")

    def check(request: Request) -> None:
        limiter(request).check(rule, client_address(request))

    return Depends(check)
