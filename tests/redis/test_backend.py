"""The Redis hash backend against the shared Redis: conformance, layout, ordering, options."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from skick import Skick
from skick_core import Runtime
from skick_core.abc import HashWrite
from skick_core.exceptions import ConfigurationError, HashError
from skick_core.plugins import load_hash_backend
from skick_core.testing import check_hash
from skick_redis import DEFAULT_PREFIX, RedisHashBackend, RedisHashError, RedisHashTable
from skick_redis._backend import _coalesce

from .conftest import with_query

TIMEOUT = 10.0

ODD_KEYS = [
    "",
    "plain",
    "with space",
    "ünïcødé ✓ 🐍",
    "a:b/c\\d*?[x]{y}",
    "\n\t\r\x00nul",
    "lone \ud800 surrogate",
    "x" * 10_000,
]


async def test_conformance(url: str) -> None:
    await check_hash(lambda: RedisHashBackend(url))


def test_registered_for_both_schemes() -> None:
    assert load_hash_backend("redis://127.0.0.1") is RedisHashBackend
    assert load_hash_backend("rediss://127.0.0.1") is RedisHashBackend
    assert RedisHashBackend.schemes == ("redis", "rediss")
    assert issubclass(RedisHashError, HashError)


async def test_one_redis_hash_per_table_holding_json(
    url: str, prefix: str, raw_redis: Redis
) -> None:
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        users, other = runtime.hash("users"), runtime.hash("other")
        await users.set("ada", {"langs": ["en", "fr"], "age": 36, "ok": True})
        await other.set("ada", "different table")
        assert (
            await raw_redis.hget(f"{prefix}users", "ada")
            == b'{"langs":["en","fr"],"age":36,"ok":true}'
        )
        assert await raw_redis.hget(f"{prefix}other", "ada") == b'"different table"'
        assert await raw_redis.type(f"{prefix}users") == b"hash"
        assert await users.get("ada") == {"langs": ["en", "fr"], "age": 36, "ok": True}


async def test_default_prefix(redis_url: str, raw_redis: Redis, prefix: str) -> None:
    table = prefix.replace(":", "-")  # unique, and cleaned up through the key below
    key = DEFAULT_PREFIX + table
    try:
        async with asyncio.timeout(TIMEOUT), Runtime(hashes=redis_url) as runtime:
            await runtime.hash(table).set("k", 1)
            assert await raw_redis.hget(key, "k") == b"1"
    finally:
        await raw_redis.delete(key)


async def test_reads_values_written_by_other_clients(
    url: str, prefix: str, raw_redis: Redis
) -> None:
    await raw_redis.hset(f"{prefix}t", mapping={"k": '{"name": "Zoë"}'.encode(), "n": b"2.5"})
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        h = runtime.hash("t")
        assert await h["k"] == {"name": "Zoë"}
        assert await h.get("n") == 2.5
        with pytest.raises(KeyError):
            await h["missing"]
        await raw_redis.hset(f"{prefix}t", "bad", b"\xff\xfe")
        with pytest.raises(RedisHashError, match="not UTF-8"):
            await h.get("bad")


async def test_keys_with_any_characters(url: str, prefix: str, raw_redis: Redis) -> None:
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        h = runtime.hash("odd keys ✓ \x00")
        for i, key in enumerate(ODD_KEYS):
            await h.set(key, i)
        for i, key in enumerate(ODD_KEYS):
            assert await h.get(key) == i, repr(key)
            assert await h.contains(key)
        assert await raw_redis.hlen(f"{prefix}odd keys ✓ \x00") == len(ODD_KEYS)
        for key in ODD_KEYS:
            del h[key]
        for key in ODD_KEYS:
            assert not await h.contains(key)


async def test_fire_and_forget_writes_are_ordered_and_pipelined(url: str) -> None:
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        h = runtime.hash("burst")
        table = runtime.hashes.backend.table("burst")
        batches: list[int] = []
        apply = table.apply

        async def spy(writes: Sequence[HashWrite]) -> None:
            batches.append(len(writes))
            await apply(writes)

        table.apply = spy  # type: ignore[method-assign]
        expected: dict[str, int] = {}
        issued = 0
        for n in range(1000):
            h[f"k{n % 10}"] = expected[f"k{n % 10}"] = n
            issued += 1
            if n % 7 == 0:
                del h[f"k{n % 10}"]
                del expected[f"k{n % 10}"]
                issued += 1
        h["back"] = 1
        del h["back"]
        h["back"] = expected["back"] = 2
        issued += 3
        for n in range(10):
            assert await h.get(f"k{n}") == expected.get(f"k{n}"), n
        assert await h["back"] == 2
        assert sum(batches) == issued
        assert len(batches) < 10, f"writes were not batched: {batches}"
        assert h.failed_writes == 0


def test_coalesce_keeps_order() -> None:
    writes: list[HashWrite] = [
        ("set", "a", "1"),
        ("set", "b", "2"),
        ("set", "a", "3"),
        ("delete", "a", None),
        ("delete", "c", None),
        ("set", "a", "4"),
    ]
    assert _coalesce(writes) == [
        ("HSET", ["a", "1", "b", "2", "a", "3"]),
        ("HDEL", ["a", "c"]),
        ("HSET", ["a", "4"]),
    ]
    assert _coalesce([]) == []
    with pytest.raises(ValueError, match="unknown"):
        _coalesce([("incr", "a", "1")])
    with pytest.raises(ValueError, match="needs a value"):
        _coalesce([("set", "a", None)])


async def test_apply_repeated_key_keeps_last_value(url: str, prefix: str, raw_redis: Redis) -> None:
    backend = RedisHashBackend(url)
    await backend.open()
    try:
        table = backend.table("t")
        assert backend.table("t") is table
        await table.apply([("set", "a", "1"), ("set", "a", "2"), ("set", "b", "3")])
        assert await raw_redis.hgetall(f"{prefix}t") == {b"a": b"2", b"b": b"3"}
        await table.apply([("delete", "a", None), ("set", "a", "5"), ("delete", "b", None)])
        assert await raw_redis.hgetall(f"{prefix}t") == {b"a": b"5"}
        await table.apply([])
    finally:
        await backend.close()
        await backend.close()  # idempotent


async def test_two_runtimes_share_tables(url: str) -> None:
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as one, Runtime(hashes=url) as two:
        one.hash("shared")["from-one"] = [1, 2]
        await one.hash("shared").set("sync", True)
        assert await two.hash("shared").get("from-one") == [1, 2]
        assert await two.hash("shared")["sync"] is True
        await two.hash("shared").delete("sync")
        assert not await one.hash("shared").contains("sync")


async def test_skick_dict_type_chooses_redis(url: str, prefix: str, raw_redis: Redis) -> None:
    seen: list[object] = []
    skick = Skick(dict_type=url, websocket_server=False)

    async def on_start(_: object) -> None:
        h = skick.hash("facade")
        h["a"] = {"x": 1}
        seen.append(await h["a"])
        skick.stop()

    skick._on_start = on_start
    async with asyncio.timeout(TIMEOUT):
        await skick.run()
    assert seen == [{"x": 1}]
    assert isinstance(skick.runtime.hashes.backend, RedisHashBackend)
    assert await raw_redis.hget(f"{prefix}facade", "a") == b'{"x":1}'


async def test_backend_errors_are_wrapped_and_background_failures_logged(
    url: str, prefix: str, raw_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await raw_redis.set(f"{prefix}wrong", "a string, not a hash")
    async with asyncio.timeout(TIMEOUT), Runtime(hashes=url) as runtime:
        h = runtime.hash("wrong")
        with pytest.raises(RedisHashError, match="WRONGTYPE") as info:
            await h.get("k")
        assert info.value.__cause__ is not None
        with pytest.raises(RedisHashError):
            await h.contains("k")
        with pytest.raises(RedisHashError):
            await h.set("k", 1)
        with caplog.at_level(logging.ERROR, logger="skick.hash"):
            h["k"] = 1
            h["l"] = 2
            with pytest.raises(RedisHashError):
                await h.get("k")  # waits for the background writes first
        assert h.failed_writes == 2
        assert "background writes" in caplog.text
        assert "WRONGTYPE" in caplog.text


async def test_not_open(url: str) -> None:
    backend = RedisHashBackend(url)
    table = backend.table("t")
    assert isinstance(table, RedisHashTable)
    with pytest.raises(RedisHashError, match="not open"):
        await table.get("k")
    await backend.open()
    await backend.open()  # idempotent
    await backend.close()
    with pytest.raises(RedisHashError, match="not open"):
        await table.apply([("set", "k", "1")])


def test_url_options() -> None:
    backend = RedisHashBackend("redis://:s3cret@example.org:6380/2?prefix=app1:&open_timeout=1.5")
    assert backend.prefix == "app1:"
    assert backend.open_timeout == 1.5
    assert backend.table("t").key == "app1:t"
    assert "s3cret" not in backend.where
    assert "s3cret" not in repr(backend)
    assert backend.where == "redis://example.org:6380/2"
    assert "prefix" not in backend._redis_url
    assert "s3cret" in backend._redis_url

    default = RedisHashBackend("rediss://example.org")
    assert default.prefix == DEFAULT_PREFIX
    assert default.where == "rediss://example.org:6379/0"

    keyword = RedisHashBackend("redis://h?prefix=url:", prefix="kw:", max_connections=7)
    assert keyword.prefix == "kw:"
    assert keyword._pool_options["max_connections"] == 7

    with pytest.raises(ConfigurationError, match="redis://"):
        RedisHashBackend("http://:pw@example.org")
    with pytest.raises(ConfigurationError, match="open_timeout"):
        RedisHashBackend("redis://h?open_timeout=soon")
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisHashBackend("redis://h", prefix=3)


async def test_pool_options_pass_through(redis_url: str) -> None:
    backend = RedisHashBackend(with_query(redis_url, max_connections="3"))
    await backend.open()
    try:
        assert backend.client.connection_pool.max_connections == 3
    finally:
        await backend.close()
    with pytest.raises(ConfigurationError, match="bad Redis option"):
        await RedisHashBackend(redis_url, no_such_option=1).open()
