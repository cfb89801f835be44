"""The redis-server fixture itself: a real server on loopback whose AOF survives a restart.

The scale-out tests rely on both: a frontier kept in Redis must outlive a Redis restart (the
README's recipe runs redis-server with appendonly), and the server must be the real one.
"""
import redis

from redis_support import redis_server  # noqa: F401  (fixture)


def test_a_real_server_keeps_its_data_across_a_restart(redis_server):  # noqa: F811
    client = redis.Redis.from_url(redis_server.url)
    assert int(client.info("server")["redis_version"].split(".")[0]) >= 6
    client.rpush("frontier", "https://www.mid.ru/a", "https://www.mid.ru/b")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    redis_server.restart()
    client = redis.Redis.from_url(redis_server.url)
    assert client.lrange("frontier", 0, -1) == [b"https://www.mid.ru/a", b"https://www.mid.ru/b"]
    redis_server.kill()
    redis_server.start()
    assert redis.Redis.from_url(redis_server.url).llen("frontier") == 2
