"""runtime/redis_target.py: one Redis URL or Sentinel's master, read from the environment once."""

import environ
import pytest

from broadcasting.runtime.redis_target import RedisTarget, saw_master


def _with(variables: dict[str, str]) -> RedisTarget:
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, variables, clear=True):
        return RedisTarget.from_env(environ.Env())


def test_a_url_is_used_as_it_is():
    redis = _with({"REDIS_URL": "redis://cache.internal:6380/3"})
    assert (redis.address, redis.database_number) == ("redis://cache.internal:6380/3", 3)
    assert redis.layer_host(socket_timeout=5) == {"address": "redis://cache.internal:6380/3", "socket_timeout": 5}
    assert redis.cache_options(socket_timeout=1) == {"socket_timeout": 1}
    assert redis.describe() == "Redis (cache.internal:6380/3)"


def test_sentinels_name_the_master_for_every_client_without_printing_a_password():
    redis = _with({
        "REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2",
        "REDIS_SENTINEL_MASTER": "main",
        "REDIS_PASSWORD": "master-secret",
        "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        "REDIS_DB": "2",
        "REDIS_URL": "redis://ignored:6379/0",
    })  # fmt: skip
    assert redis.address == "redis+sentinel://main/2" and redis.database_number == 2
    host = redis.layer_host(socket_timeout=5)
    assert host["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379)] and host["master_name"] == "main"
    assert host["password"] == "master-secret" and host["db"] == 2
    assert host["sentinel_kwargs"] == {"socket_timeout": 5, "password": "sentinel-secret"}
    assert redis.cache_options()["pool_class"] == "broadcasting.runtime.redis_target.SentinelCachePool"
    assert "secret" not in redis.describe() and "10.0.0.2:26379" in redis.describe()


def test_no_redis_configured():
    assert _with({}).address == ""


def test_a_failover_is_logged_once_per_new_master_and_counted(caplog):
    from broadcasting.metrics import redis_failovers

    before = redis_failovers._value.get()
    saw_master("test-master", ("10.0.0.1", 6379))
    saw_master("test-master", ("10.0.0.1", 6379))  # the same master again: nothing
    with caplog.at_level("WARNING"):
        saw_master("test-master", ("10.0.0.2", 6379))
        saw_master("test-master", ("10.0.0.2", 6379))
    lines = [record.getMessage() for record in caplog.records if "failover" in record.getMessage()]
    assert lines == ["Redis failover: master 'test-master' is now 10.0.0.2:6379 (was 10.0.0.1:6379)."]
    assert redis_failovers._value.get() == before + 1


@pytest.mark.parametrize("variables", [{"REDIS_SENTINELS": "127.0.0.1:1"}])
def test_a_sentinel_address_is_opened_only_by_the_builders(variables, settings):
    from broadcasting.runtime import redis_target

    settings.REDIS = _with(variables)
    pool = redis_target.async_pool(settings.REDIS.address, max_connections=3, timeout=1)
    assert isinstance(pool, redis_target.WatchedAsyncSentinelPool) and pool.max_connections == 3
    cache_pool = redis_target.SentinelCachePool.from_url(settings.REDIS.address, socket_timeout=1)
    assert isinstance(cache_pool, redis_target.WatchedSentinelPool)
