"""The Redis hash backend: one Redis hash per Skick table, over a redis-py connection pool.

Key layout: table ``name`` lives in the Redis hash ``f"{prefix}{name}"`` (prefix
``"skick:hash:"`` unless the URL's ``?prefix=`` or the ``prefix`` option says
otherwise); each Skick key is a field of that hash and each value its JSON text.

The front (:class:`skick_core._hash.Hash`) encodes JSON, orders writes and batches the
fire-and-forget ones; this module only moves text to and from Redis and turns every
redis-py failure into a :class:`RedisHashError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, RedisError

from skick_core.abc import HashBackend, HashTable, HashWrite
from skick_core.exceptions import ConfigurationError, HashError

__all__ = ["DEFAULT_PREFIX", "RedisHashBackend", "RedisHashError", "RedisHashTable"]

DEFAULT_PREFIX = "skick:hash:"
"""Redis key prefix of every table unless configured otherwise."""

# Defaults for the connection pool; any of them can be overridden by a keyword option
# or a URL query parameter (redis-py gives the URL precedence over keywords).
_POOL_DEFAULTS: dict[str, Any] = {
    "socket_connect_timeout": 2.0,
    "socket_timeout": 5.0,
    # Keys are arbitrary Python strings, lone surrogates included: encode them losslessly.
    "encoding_errors": "surrogatepass",
}
_RETRIES = 1
"""One quick retry per command: enough to replace a connection that a Redis restart
broke, little enough that an outage is reported within a fraction of a second."""
_OPEN_TIMEOUT = 3.0
"""Bound on :meth:`RedisHashBackend.open` (connect, authenticate, ``PING``)."""

# Errors a Redis call may raise that mean "the backend failed": redis-py's own tree, plus
# OSError (which includes the builtin TimeoutError) in case a socket error slips through.
_FAILURES = (RedisError, OSError)


class RedisHashError(HashError):
    """A Redis operation failed: the server is unreachable, refused us, or answered an error.

    The redis-py exception is chained as ``__cause__``.
    """


class RedisHashTable(HashTable):
    """One Skick table: the Redis hash ``prefix + name``."""

    def __init__(self, backend: RedisHashBackend, name: str) -> None:
        self._backend = backend
        self.name = name
        self.key = backend.prefix + name

    def __repr__(self) -> str:
        return f"<RedisHashTable {self.key!r} on {self._backend.where}>"

    async def get(self, key: str) -> str | None:
        client = self._backend.client
        try:
            raw = await client.hget(self.key, key)
        except _FAILURES as exc:
            raise self._backend.error("HGET", exc) from exc
        if isinstance(raw, bytes):
            try:
                return raw.decode("utf-8", "surrogatepass")  # mirrors how keys are encoded
            except UnicodeDecodeError as exc:
                raise RedisHashError(f"{self.key!r}[{key!r}] in Redis is not UTF-8 text") from exc
        return raw

    async def contains(self, key: str) -> bool:
        client = self._backend.client
        try:
            return bool(await client.hexists(self.key, key))
        except _FAILURES as exc:
            raise self._backend.error("HEXISTS", exc) from exc

    async def apply(self, writes: Sequence[HashWrite]) -> None:
        """Apply *writes* in order; several writes go out as one pipelined round trip.

        Runs of consecutive sets become one ``HSET`` with several fields (Redis applies
        them left to right, so a repeated key keeps its last value) and runs of deletes
        one ``HDEL``; the runs go in one non-transactional pipeline, in order.
        """
        client = self._backend.client
        name = self.key
        try:
            if len(writes) == 1:  # the common case, an awaited set or delete: keep it lean
                op, field, value = writes[0]
                if op == "set" and value is not None:
                    await client.hset(name, field, value)
                    return
                if op == "delete":
                    await client.hdel(name, field)
                    return
            commands = _coalesce(writes)  # ValueError for a malformed write
            if len(commands) == 1:
                command, fields = commands[0]
                if command == "HSET":
                    await client.hset(name, items=fields)
                else:
                    await client.hdel(name, *fields)
            elif commands:
                async with client.pipeline(transaction=False) as pipe:
                    for command, fields in commands:
                        if command == "HSET":
                            pipe.hset(name, items=fields)
                        else:
                            pipe.hdel(name, *fields)
                    await pipe.execute()
        except _FAILURES as exc:
            raise self._backend.error("write", exc) from exc


def _coalesce(writes: Sequence[HashWrite]) -> list[tuple[str, list[str]]]:
    """``("HSET", [field, value, …])`` / ``("HDEL", [field, …])`` runs for *writes*, in order."""
    commands: list[tuple[str, list[str]]] = []
    fields: list[str] = []
    current = ""
    for op, field, value in writes:
        if op == "set":
            if value is None:
                raise ValueError(f"a set of {field!r} needs a value")
            if current != "HSET":
                current, fields = "HSET", []
                commands.append((current, fields))
            fields.append(field)
            fields.append(value)
        elif op == "delete":
            if current != "HDEL":
                current, fields = "HDEL", []
                commands.append((current, fields))
            fields.append(field)
        else:
            raise ValueError(f"unknown hash write {op!r}")
    return commands


class RedisHashBackend(HashBackend):
    """Skick hashes in Redis: ``Skick(dict_type="redis://[[user]:password@]host[:port][/db]")``.

    ``rediss://`` connects with TLS. Options, as URL query parameters or keywords
    (a keyword wins over the URL for ``prefix`` and ``open_timeout``; for the
    redis-py pool options the URL wins, as in redis-py):

    - ``prefix`` — Redis key prefix of every table (default ``"skick:hash:"``);
    - ``open_timeout`` — bound in seconds on connecting at start (default 3);
    - anything :class:`redis.asyncio.ConnectionPool` accepts: ``max_connections``,
      ``socket_timeout`` (default 5), ``socket_connect_timeout`` (default 2),
      ``health_check_interval``, ``ssl_ca_certs``, ``ssl_cert_reqs``, ``retry``, …
    """

    schemes: ClassVar[tuple[str, ...]] = ("redis", "rediss")

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", **options: Any) -> None:
        super().__init__(url, **options)
        parts = urlsplit(url)
        if parts.scheme not in self.schemes:
            raise ConfigurationError(f"not a redis:// or rediss:// URL: {_redact(url)!r}")
        query = parse_qsl(parts.query, keep_blank_values=True)
        ours = {name: value for name, value in query if name in ("prefix", "open_timeout")}
        rest = [(name, value) for name, value in query if name not in ours]
        pool_options = dict(options)
        prefix = pool_options.pop("prefix", ours.get("prefix", DEFAULT_PREFIX))
        if not isinstance(prefix, str):
            raise ConfigurationError(f"the Redis key prefix must be a string, not {prefix!r}")
        self.prefix: str = prefix
        open_timeout = pool_options.pop("open_timeout", ours.get("open_timeout", _OPEN_TIMEOUT))
        try:
            self.open_timeout = float(open_timeout)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"open_timeout must be a number, not {open_timeout!r}"
            ) from exc
        self._redis_url = urlunsplit(parts._replace(query=urlencode(rest)))
        self._pool_options = {**_POOL_DEFAULTS, **pool_options}
        self._pool_options.setdefault(
            "retry", Retry(ExponentialBackoff(cap=0.1, base=0.01), _RETRIES)
        )
        host = parts.hostname or "localhost"
        self.where = f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or '/0'}"
        """Where the server is, for messages: the URL without credentials or options."""
        self._pool: ConnectionPool | None = None
        self._client: Redis | None = None
        self._tables: dict[str, RedisHashTable] = {}

    def __repr__(self) -> str:
        return f"<RedisHashBackend {self.where} prefix={self.prefix!r}>"

    @property
    def client(self) -> Redis:
        """The redis-py client over this backend's pool (after :meth:`open`)."""
        if self._client is None:
            raise RedisHashError(f"the Redis hash backend at {self.where} is not open")
        return self._client

    async def open(self) -> None:
        """Create the pool and check the server answers ``PING`` (bounded by ``open_timeout``)."""
        if self._client is not None:
            return
        try:
            pool = ConnectionPool.from_url(self._redis_url, **self._pool_options)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"bad Redis URL or option for {self.where}: {exc}") from exc
        client = Redis(connection_pool=pool)
        try:
            async with asyncio.timeout(self.open_timeout):
                await client.ping()
        except BaseException as exc:
            await pool.aclose()
            if isinstance(exc, AuthenticationError):
                raise RedisHashError(
                    f"Redis at {self.where} refused the credentials: {exc}"
                ) from exc
            if isinstance(exc, _FAILURES):  # TimeoutError (open_timeout) is an OSError
                reason = str(exc) or f"no answer within {self.open_timeout:g} s"
                raise RedisHashError(f"cannot use Redis at {self.where}: {reason}") from exc
            if isinstance(exc, TypeError):  # redis-py checks the options when it connects
                raise ConfigurationError(f"bad Redis option for {self.where}: {exc}") from exc
            raise
        self._pool = pool
        self._client = client

    async def close(self) -> None:
        """Close every pooled connection (idempotent)."""
        client, pool = self._client, self._pool
        self._client = self._pool = None
        if client is not None:
            await client.aclose()
        if pool is not None:
            await pool.aclose()

    def table(self, name: str) -> RedisHashTable:
        found = self._tables.get(name)
        if found is None:
            found = self._tables[name] = RedisHashTable(self, name)
        return found

    def error(self, what: str, exc: BaseException) -> RedisHashError:
        """The :class:`RedisHashError` for *exc* raised during *what*."""
        if self._client is None:
            return RedisHashError(f"the Redis hash backend at {self.where} is closed")
        return RedisHashError(f"Redis {what} at {self.where} failed: {type(exc).__name__}: {exc}")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
