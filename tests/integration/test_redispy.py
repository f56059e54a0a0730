"""keel-server driven by redis-py (Debian's python3-redis)."""
import unittest

from keelserver import KeelServer, main, reexec_for_module, skip_script, wait_until

if not reexec_for_module("redis"):
    skip_script("redis-py is not installed (Debian package python3-redis)")

import redis  # noqa: E402


class RedisPyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, "keel-server exited %r\n%s" % (code, cls.server.log.decode(errors="replace"))

    def setUp(self):
        self.r = redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=10,
                             decode_responses=True)

    def tearDown(self):
        self.r.close()

    def test_connect_and_ping(self):
        self.assertTrue(self.r.ping())

    def test_set_get(self):
        self.assertTrue(self.r.set("py:k", "v1"))
        self.assertEqual(self.r.get("py:k"), "v1")
        self.assertIsNone(self.r.get("py:missing"))
        self.assertIsNone(self.r.set("py:k", "v2", nx=True))
        self.assertEqual(self.r.set("py:k", "v3", get=True), "v1")
        self.assertEqual(self.r.get("py:k"), "v3")
        raw = redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=10)
        try:
            blob = bytes(range(256)) * 4
            raw.set(b"py:bin\x00key", blob)
            self.assertEqual(raw.get(b"py:bin\x00key"), blob)
        finally:
            raw.close()

    def test_pipeline_without_transaction(self):
        p = self.r.pipeline(transaction=False)
        for i in range(500):
            p.set("py:p:%d" % i, i)
        p.incr("py:p:counter")
        p.get("py:p:499")
        res = p.execute()
        self.assertEqual(res[:500], [True] * 500)
        self.assertEqual(res[500:], [1, "499"])

    def test_pipeline_with_transaction(self):
        p = self.r.pipeline(transaction=True)
        p.set("py:t:a", 1).incr("py:t:a").incrby("py:t:a", 10).get("py:t:a")
        self.assertEqual(p.execute(), [True, 2, 12, "12"])

    def test_multi_exec_via_pipeline(self):
        with self.r.pipeline() as p:
            p.multi()
            p.hset("py:m:h", mapping={"a": "1", "b": "2"})
            p.hincrby("py:m:h", "a", 5)
            p.hgetall("py:m:h")
            self.assertEqual(p.execute(), [2, 6, {"a": "6", "b": "2"}])

    def test_error_inside_transaction(self):
        self.r.set("py:te:s", "x")
        p = self.r.pipeline(transaction=True)
        p.set("py:te:n", 1)
        p.incr("py:te:s")
        p.incr("py:te:n")
        res = p.execute(raise_on_error=False)
        self.assertEqual(res[0], True)
        self.assertIsInstance(res[1], redis.ResponseError)
        self.assertEqual(str(res[1]), "value is not an integer or out of range")
        self.assertEqual(res[2], 2)

    def test_watch_conflict_raises_watch_error(self):
        self.r.set("py:w", 1)
        other = redis.Redis(host="127.0.0.1", port=self.server.port, socket_timeout=10)
        try:
            with self.r.pipeline() as p:
                p.watch("py:w")
                self.assertEqual(p.get("py:w"), "1")  # immediate mode after WATCH
                other.set("py:w", 99)                 # another client changes it
                p.multi()
                p.set("py:w", 2)
                with self.assertRaises(redis.WatchError):
                    p.execute()
            self.assertEqual(self.r.get("py:w"), "99")
            # The transaction helper retries until it wins.
            def bump(pipe):
                v = int(pipe.get("py:w"))
                pipe.multi()
                pipe.set("py:w", v + 1)
            self.r.transaction(bump, "py:w")
            self.assertEqual(self.r.get("py:w"), "100")
        finally:
            other.close()

    def test_errors_map_to_response_error(self):
        self.r.hset("py:e:h", "f", "v")
        with self.assertRaises(redis.ResponseError) as cm:
            self.r.incr("py:e:h")
        self.assertEqual(str(cm.exception), "WRONGTYPE Operation against a key holding the wrong kind of value")
        with self.assertRaises(redis.ResponseError) as cm:
            self.r.get("py:e:h")
        self.assertTrue(str(cm.exception).startswith("WRONGTYPE"))
        with self.assertRaises(redis.ResponseError) as cm:
            self.r.execute_command("NOSUCHCMD", "x")
        self.assertEqual(str(cm.exception), "unknown command 'NOSUCHCMD', with args beginning with: 'x' ")
        self.r.set("py:e:s", "abc")
        with self.assertRaises(redis.ResponseError) as cm:
            self.r.incrbyfloat("py:e:s", 1.5)
        self.assertEqual(str(cm.exception), "value is not a valid float")
        # The connection is still usable.
        self.assertTrue(self.r.ping())

    def test_hashes(self):
        self.assertEqual(self.r.hset("py:h", mapping={"f1": "v1", "f2": "v2", "f3": "v3"}), 3)
        self.assertEqual(self.r.hgetall("py:h"), {"f1": "v1", "f2": "v2", "f3": "v3"})
        self.assertEqual(self.r.hget("py:h", "f2"), "v2")
        self.assertEqual(self.r.hdel("py:h", "f2"), 1)
        self.assertEqual(self.r.hlen("py:h"), 2)
        self.assertEqual(self.r.hmget("py:h", "f1", "nope"), ["v1", None])
        self.assertEqual(self.r.hincrbyfloat("py:h", "n", 2.5), 2.5)
        self.assertEqual(self.r.hgetall("py:missing"), {})

    def test_incrbyfloat(self):
        self.assertEqual(self.r.incrbyfloat("py:f", 10.5), 10.5)
        self.assertAlmostEqual(self.r.incrbyfloat("py:f", 0.1), 10.6)
        self.assertEqual(self.r.get("py:f"), "10.6")
        self.assertEqual(self.r.incrbyfloat("py:f", -5), 5.6)
        self.r.set("py:f2", "5.0e3")
        self.assertEqual(self.r.incrbyfloat("py:f2", 2.0e2), 5200.0)
        self.assertEqual(self.r.get("py:f2"), "5200")

    def test_expire_and_ttl(self):
        self.r.set("py:x", "v")
        self.assertEqual(self.r.ttl("py:x"), -1)
        self.assertEqual(self.r.ttl("py:nokey"), -2)
        self.assertTrue(self.r.expire("py:x", 100))
        self.assertTrue(0 < self.r.ttl("py:x") <= 100)
        self.assertTrue(0 < self.r.pttl("py:x") <= 100000)
        self.assertTrue(self.r.persist("py:x"))
        self.assertEqual(self.r.ttl("py:x"), -1)
        self.r.set("py:x2", "v", px=150)
        self.assertTrue(0 < self.r.pttl("py:x2") <= 150)
        # Expiry is observed by polling (bounded), not by sleeping a guess.
        wait_until(lambda: self.r.get("py:x2") is None, 5, what="py:x2 to expire")
        self.assertEqual(self.r.exists("py:x2"), 0)
        self.assertFalse(self.r.expire("py:nokey", 10))


if __name__ == "__main__":
    main()
