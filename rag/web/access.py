"""Who may use the page: the login check with a rate limit, and the warning for an open page.

Gradio calls an ``auth`` callable with the user name and password only (no client address), so
failures are counted per account name: after ``per_minute`` failures within a minute that name is
locked for a time that doubles with every further failure (capped at 15 minutes), during which even the
right password is refused. Guessing the password is then slow; the cost is that someone guessing can
keep a known name locked, which a page for a few people can live with.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

_MAX_LOCK = 900.0  # seconds
_FAILURE_DELAY = 0.5  # seconds every failed attempt waits before it is answered


class LoginThrottle:
    """An ``auth`` callable for ``Blocks.launch``: checks the password, and rate-limits failures per name."""

    def __init__(self, user: str, password: str, *, per_minute: int = 5, failure_delay: float = _FAILURE_DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._user, self._password = user, password
        self.per_minute = per_minute
        self.failure_delay = failure_delay
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lockouts: dict[str, int] = {}

    def locked_for(self, user: str) -> float:
        """Seconds ``user`` must still wait before a login is checked again (0 when not locked)."""
        with self._lock:
            return max(0.0, self._locked_until.get(user, 0.0) - self.clock())

    def check(self, user: str, password: str) -> bool:
        """Whether the login succeeds now; a failure counts towards the lock."""
        with self._lock:
            now = self.clock()
            if self._locked_until.get(user, 0.0) > now:
                log.warning("login for %r refused: locked for %.0f s more after repeated failures",
                            user, self._locked_until[user] - now)
                return False
            ok = hmac.compare_digest(user.encode(), self._user.encode()) & hmac.compare_digest(
                password.encode(), self._password.encode())
            if ok:
                self._failures.pop(user, None)
                self._lockouts.pop(user, None)
                return True
            failures = self._failures.setdefault(user, deque())
            failures.append(now)
            while failures and now - failures[0] > 60:
                failures.popleft()
            if len(failures) >= self.per_minute:
                n = self._lockouts.get(user, 0)
                lock = min(_MAX_LOCK, 60.0 * 2**n)
                self._lockouts[user] = n + 1
                self._locked_until[user] = now + lock
                failures.clear()
                log.warning("%d failed logins for %r within a minute: locked for %.0f s", self.per_minute, user, lock)
            return False

    async def __call__(self, user: str, password: str) -> bool:
        ok = self.check(user, password)
        if not ok and self.failure_delay:
            await asyncio.sleep(self.failure_delay)  # slows guessing without holding a thread
        return ok


def is_loopback(host: str | None) -> bool:
    """Whether the page is reachable from this machine only."""
    if host in (None, "", "localhost"):
        return host is not None and host != ""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def exposure_warning(host: str | None, has_login: bool) -> str | None:
    """The warning for a page that listens beyond this machine without a login, else None."""
    if has_login or is_loopback(host):
        return None
    return (f"WARNING: the chat page listens on {host or 'all addresses'} without a login: anyone who can reach "
            "this port can read the articles, ask questions and add articles. Set RAG_AUTH=user:password, "
            "or RAG_HOST=127.0.0.1 to keep it on this machine.")
