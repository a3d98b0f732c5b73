"""The API budget shared by every process of every worker, kept in Redis.

One Lua script, run atomically by the Redis server and timed by the server's own clock (the
workers' clocks never matter), decides each request start: no pause in force (a 429's
``Retry-After``), fewer than ``concurrency`` leases held, fewer than ``max_starts`` starts in
the sliding window. When all three hold it records the start and takes a lease that expires on
its own after ``lease_seconds``: a worker killed mid-request frees its slot by then. It is the
in-process budget's sliding-window log (:mod:`fincome_airflow.hooks.budget.local`), with the same
window and margin.

One round trip a request: a finished request's lease is given back by the next start's script
call of the same process, which follows at once while the process has work. It is given back
on its own (a round trip of its own) when nothing follows: no thread of the process wants a
slot, or the asking thread is about to wait (the window is full, a pause is in force), so a
finished request never holds a slot another process could use.

A grant is fresh when its request leaves: a thread that got its start more than
:data:`STALE_GRANT` before it could send (a loaded machine: its process descheduled, the GIL
held elsewhere) takes the start again, in the same script call that drops the stale one, so
that the API never sees more starts in one second than the budget (the window's margin covers
the rest of the way, network and server).

Within a process one thread at a time asks the store (the others wait on a local lock), so that
threads waiting for the same freed start do not all ask for it; a slot given back by a thread of
the same process wakes the asking thread at once, slots freed elsewhere are polled for.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import redis

from fincome_airflow.exceptions import FincomeBudgetUnavailable
from fincome_airflow.hooks.budget.local import WINDOW_MARGIN, Clock, Sleep, start_window

#: Seconds to wait for the store to connect or answer before the worker gives up.
STORE_TIMEOUT = 5.0
#: Polling of a full set of slots: first wait, doubled up to the last.
SLOT_POLL = (0.001, 0.02)
#: Seconds after asking for a start beyond which the start is taken again before sending
#: (less than the window's margin), and how many times at most.
STALE_GRANT, MAX_RETAKES = 0.02, 3

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_starts = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
for i = 7, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
if ARGV[6] ~= '' then
  redis.call('ZREM', KEYS[1], ARGV[6])
  redis.call('ZREM', KEYS[2], ARGV[6])
end
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {0, tostring(paused - now)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= concurrency then return {0, '-1'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local starts = redis.call('ZCARD', KEYS[1])
if starts >= max_starts then
  local rank = starts - max_starts
  local oldest = redis.call('ZRANGE', KEYS[1], rank, rank, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
redis.call('ZADD', KEYS[2], now + lease, ARGV[5])
redis.call('PEXPIRE', KEYS[2], math.ceil(lease * 1000) + 1000)
return {1, '0'}
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + seconds > paused then
  redis.call('SET', KEYS[1], string.format('%.6f', now + seconds),
             'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""


def redact_url(url: str) -> str:
    """The store's URL fit for a message: its password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class SharedBudget:
    """Request starts per second, requests in flight and 429 pauses, shared through Redis.

    :param client: the Redis client (thread-safe: its connection pool serves every thread).
    :param name: what the budget belongs to (the API's base URL): its keys are named after it.
    :param rate: request starts per second, across every process using ``name``.
    :param concurrency: requests in flight at once, across every process using ``name``.
    :param lease_seconds: how long a slot stays taken when its holder never gives it back.
    :param margin: seconds added to the window, as in the in-process budget.
    :param where: the store's URL without its password, for messages.
    """

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        rate: float,
        concurrency: int,
        *,
        lease_seconds: float,
        margin: float = WINDOW_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        where: str = "redis",
    ) -> None:
        if rate <= 0 or concurrency < 1 or lease_seconds <= 0:
            raise ValueError("rate and lease_seconds must be > 0 and concurrency >= 1")
        self.rate = rate
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.max_starts, self.window = start_window(rate, margin)
        self.where = where
        base = f"fincome:budget:{{{name}}}"
        self.keys = (f"{base}:starts", f"{base}:leases", f"{base}:pause")
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._asking = threading.Lock()
        self._freed = threading.Event()
        #: Leases of finished requests not yet given back; threads wanting a slot; whether
        #: the asking thread is waiting out the window or a pause (all under ``_state``).
        self._done: list[str] = []
        self._wanting = 0
        self._waiting = False
        self._state = threading.Lock()
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    @classmethod
    def connect(cls, url: str, name: str, rate: float, concurrency: int, **kwargs) -> SharedBudget:
        """Open the budget at ``url`` (``redis://``, ``rediss://`` or ``unix://``) and check
        that the store answers.

        :raise FincomeBudgetUnavailable: when the store cannot be reached.
        """
        where = redact_url(url)
        client = redis.Redis.from_url(
            url, socket_connect_timeout=STORE_TIMEOUT, socket_timeout=STORE_TIMEOUT
        )
        budget = cls(client, name, rate, concurrency, where=where, **kwargs)
        with budget._store("check"):
            client.ping()
        return budget

    @contextmanager
    def _store(self, doing: str) -> Iterator[None]:
        """Turn any store failure into :class:`FincomeBudgetUnavailable` (no secret in it)."""
        try:
            yield
        except redis.RedisError as e:
            detail = str(e).replace(self._password, "***") if self._password else str(e)
            raise FincomeBudgetUnavailable(
                f"The Fincome API budget store {self.where} failed to {doing} the budget "
                f"({type(e).__name__}: {detail}); no request is sent without it."
            ) from None

    @property
    def _password(self) -> str | None:
        return self._client.connection_pool.connection_kwargs.get("password")

    def pause(self, seconds: float) -> None:
        """Start no request in any process for ``seconds`` from now (extends, never shortens)."""
        with self._store("pause"):
            self._pause(keys=[self.keys[2]], args=[f"{seconds:.6f}"])

    def acquire(self) -> str:
        """Block until a request may start; record its start; return its lease id."""
        return self._grant("")[0]

    def _grant(self, retake: str) -> tuple[str, float]:
        """A start and its lease (``retake``: a stale one, dropped in the same call), and when
        the granting call was made."""
        lease = retake or uuid.uuid4().hex
        head = [self.max_starts, f"{self.window:.6f}", self.concurrency, self.lease_seconds]
        poll = SLOT_POLL[0]
        with self._state:
            self._wanting += 1
        try:
            with self._asking:
                while True:
                    self._freed.clear()
                    with self._state:
                        done, self._done = self._done, []
                    asked = self._clock()
                    with self._store("take a slot from"):
                        granted, wait = self._acquire(
                            keys=list(self.keys), args=[*head, lease, retake, *done]
                        )
                    if int(granted):
                        return lease, asked
                    seconds = float(wait)
                    if seconds >= 0:
                        self._wait(max(seconds, 0.0005))
                    else:  # every slot taken: until one of ours is given back, or poll
                        self._freed.wait(poll)
                        poll = min(poll * 2, SLOT_POLL[1])
        finally:
            with self._state:
                self._wanting -= 1
                idle = self._wanting == 0
            if idle:  # leases finished during the last call, with no call to carry them
                self._give_back()

    def _wait(self, seconds: float) -> None:
        """Wait out the window or a pause, our finished leases given back first."""
        with self._state:
            self._waiting = True
        try:
            self._give_back()
            self._sleep(seconds)
        finally:
            with self._state:
                self._waiting = False

    def _give_back(self) -> None:
        """Give back, in a round trip of their own, the leases no start call will carry."""
        with self._state:
            done, self._done = self._done, []
        if done:
            with self._store("give a slot back to"):
                self._client.zrem(self.keys[1], *done)

    def release(self, lease: str) -> None:
        """Give the slot of ``lease`` back: with the next start of this process when one is
        being asked for, else at once."""
        with self._state:
            self._done.append(lease)
            later = self._wanting > 0 and not self._waiting
        if not later:
            self._give_back()
        self._freed.set()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot and a start of the budget for the duration of one request."""
        lease, asked = self._grant("")
        for _ in range(MAX_RETAKES):
            if self._clock() - asked <= STALE_GRANT:
                break
            lease, asked = self._grant(lease)
        try:
            yield
        finally:
            self.release(lease)

    def close(self) -> None:
        """Give back the leases still held, then close the store's connections."""
        self._give_back()
        self._client.close()
