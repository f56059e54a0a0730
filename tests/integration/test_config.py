"""keel-server's configuration: a redis.conf-style file with Redis's quoting,
start-up refused on a bad directive (file, line and reason), and flags that
override the file."""
import os
import subprocess
import tempfile
import time
import unittest

from keelserver import KeelServer, main, server_binary

PASSWORD = 'p@ss "word"!'

GOOD_CONF = r"""# keel integration test: every line is Redis's syntax
   # an indented comment, then blank lines

port 6379
bind 127.0.0.1
maxclients "3"
timeout 0
requirepass "p@ss \"word\"\x21"
client-output-buffer-limit normal 1mb 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60
proto-max-bulk-len '2mb'
loglevel 'notice'
tcp-keepalive 60
	hz   20
save ""
appendonly no
protected-mode yes
daemonize no
"""


def write_conf(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="keel-it-", delete=False)
    f.write(text)
    f.close()
    return f.name


class ConfigFileTest(unittest.TestCase):
    def setUp(self):
        self.conf = write_conf(GOOD_CONF)

    def tearDown(self):
        os.unlink(self.conf)

    def authed(self, server, password=PASSWORD):
        c = server.conn()
        self.assertEqual(c.cmd("AUTH", password), b"+OK\r\n")
        return c

    def test_directives_and_quoting(self):
        with KeelServer(config=self.conf) as server:
            # --port 0 (a flag) won over the file's port 6379.
            self.assertNotEqual(server.port, 6379)
            c = server.conn()
            # requirepass, with \" and \x21 unquoted as Redis does.
            self.assertEqual(c.cmd("PING"), b"-NOAUTH Authentication required.\r\n")
            self.assertEqual(c.cmd("AUTH", 'p@ss \\"word\\"\\x21'),
                             b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
            self.assertEqual(c.cmd("AUTH", PASSWORD), b"+OK\r\n")
            self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            # proto-max-bulk-len '2mb': a 3 MB bulk is refused.
            big = self.authed(server)
            big.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n")
            self.assertTrue(big.closed_by_peer(5))
            self.assertEqual(big.buf, b"-ERR Protocol error: invalid bulk length\r\n")
            big.close()
            # maxclients "3": c plus two more, then refused.
            more = [server.conn() for _ in range(2)]
            for m in more:
                self.assertEqual(m.cmd("AUTH", PASSWORD), b"+OK\r\n")
            extra = server.conn()
            self.assertTrue(extra.closed_by_peer(5))
            self.assertEqual(extra.buf, b"-ERR max number of clients reached\r\n")
            extra.close()
            for m in more + [c]:
                m.close()
        self.assertEqual(server.returncode, 0)

    def test_flags_override_the_file(self):
        with KeelServer("--maxclients", "5", "--requirepass", "flagpass", config=self.conf) as server:
            conns = [server.conn() for _ in range(5)]
            try:
                self.assertEqual(conns[0].cmd("AUTH", PASSWORD),
                                 b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                for c in conns:
                    self.assertEqual(c.cmd("AUTH", "flagpass"), b"+OK\r\n")
                extra = server.conn()
                self.assertTrue(extra.closed_by_peer(5))
                self.assertEqual(extra.buf, b"-ERR max number of clients reached\r\n")
                extra.close()
            finally:
                for c in conns:
                    c.close()
        self.assertEqual(server.returncode, 0)


class RuntimeConfigTest(unittest.TestCase):
    """CONFIG GET/SET of the parameters the runtime owns."""

    def test_get_and_set(self):
        with KeelServer("--maxclients", "50", "--timeout", "0") as srv:
            c = srv.conn()
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"maxclients"),
                             b"*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"save"),
                             b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"appendonly"),
                             b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"maxclients", b"2"), b"+OK\r\n")
            # The new limit holds at once: this client plus one more.
            second = srv.conn()
            self.assertEqual(second.cmd(b"PING"), b"+PONG\r\n")
            third = srv.conn()
            self.assertEqual(third.reply(), b"-ERR max number of clients reached\r\n")
            self.assertTrue(third.closed_by_peer())
            self.assertTrue(c.cmd(b"CONFIG", b"SET", b"port", b"1").startswith(b"-ERR CONFIG SET failed"))
            # The log can be turned on and off at run time (a snapshot first).
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"appendonly", b"yes"), b"+OK\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"appendonly"),
                             b"*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"appendonly", b"no"), b"+OK\r\n")


def cpu_ticks(pid):
    """The process's user plus system CPU time, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class BusyPollTest(unittest.TestCase):
    """busy-poll-us: after client input the loop polls instead of sleeping,
    for that long, then sleeps again; never while the log is on. Observed
    through the server's own CPU time: polling costs CPU, sleeping none.
    The windows are measurements, not waits for an event."""

    HZ = os.sysconf("SC_CLK_TCK")

    def cpu_during(self, srv, seconds, before=None):
        t0 = cpu_ticks(srv.pid)
        if before:
            before()
        time.sleep(seconds)
        return (cpu_ticks(srv.pid) - t0) * 1000 // self.HZ  # ms

    def test_config(self):
        with KeelServer() as srv:
            c = srv.conn()
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"busy-poll-us"),
                             b"*2\r\n$12\r\nbusy-poll-us\r\n$2\r\n50\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"busy-poll-us", b"0"), b"+OK\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"GET", b"busy-poll-us"),
                             b"*2\r\n$12\r\nbusy-poll-us\r\n$1\r\n0\r\n")
            self.assertEqual(
                c.cmd(b"CONFIG", b"SET", b"busy-poll-us", b"-1"),
                b"-ERR CONFIG SET failed (possibly related to argument 'busy-poll-us') - "
                b"argument must be between 0 and 100000 inclusive\r\n")
        with KeelServer("--busy-poll-us", "7") as srv:
            self.assertEqual(srv.conn().cmd(b"CONFIG", b"GET", b"busy-poll-us"),
                             b"*2\r\n$12\r\nbusy-poll-us\r\n$1\r\n7\r\n")
        out = BadConfigTest.start_fails(self, ["--busy-poll-us", "100001"])
        self.assertIn("argument must be between 0 and 100000 inclusive", out)

    def test_polls_after_input_then_sleeps(self):
        # 100 ms of polling after each input: long enough to see in CPU time.
        with KeelServer("--busy-poll-us", "100000") as srv:
            c = srv.conn()
            self.assertEqual(c.cmd(b"PING"), b"+PONG\r\n")
            time.sleep(0.3)  # let that PING's polling run out
            # Idle: the loop sleeps (the 10 Hz tick costs next to nothing).
            self.assertLess(self.cpu_during(srv, 0.5), 30)
            # One PING: it polls about 100 ms (at least 30 on a busy machine).
            used = self.cpu_during(srv, 0.6, lambda: c.cmd(b"PING"))
            self.assertGreaterEqual(used, 30)
            # ... and then sleeps again.
            self.assertLess(self.cpu_during(srv, 0.5), 30)
            # Off: input costs no polling.
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"busy-poll-us", b"0"), b"+OK\r\n")
            time.sleep(0.3)
            self.assertLess(self.cpu_during(srv, 0.5, lambda: c.cmd(b"PING")), 30)
            # With the write-ahead log on the loop never polls.
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"busy-poll-us", b"100000"), b"+OK\r\n")
            self.assertEqual(c.cmd(b"CONFIG", b"SET", b"appendonly", b"yes"), b"+OK\r\n")
            time.sleep(0.3)
            self.assertLess(self.cpu_during(srv, 0.5, lambda: c.cmd(b"SET", b"k", b"v")), 30)


class RuntimeBehaviourTest(unittest.TestCase):
    def test_json_log_lines(self):
        import json
        srv = KeelServer("--log-format", "json").start()
        srv.stop()
        lines = [l for l in srv.log.decode().splitlines() if l.startswith("{")]
        self.assertTrue(lines, srv.log)
        for l in lines:
            rec = json.loads(l)
            self.assertIn(rec["level"], ("debug", "verbose", "notice", "warning"))
            self.assertTrue(rec["time"].endswith("Z"))
        self.assertTrue(any(json.loads(l)["msg"] == "Ready to accept connections" for l in lines))

    def test_debug_sleep_stops_the_server(self):
        import time
        with KeelServer() as srv:
            c = srv.conn()
            t0 = time.monotonic()
            self.assertEqual(c.cmd(b"DEBUG", b"SLEEP", b"0.3"), b"+OK\r\n")
            # A lower bound only: the server slept before replying.
            self.assertGreaterEqual(time.monotonic() - t0, 0.3)


class BadConfigTest(unittest.TestCase):
    def start_fails(self, args):
        """Runs keel-server, which must refuse to start; returns its output."""
        cmd = [server_binary()] + args
        # Should it start after all, it listens on loopback only, on a port
        # the OS picks, and is killed at the timeout.
        cmd += ["--bind", "127.0.0.1", "--port", "0"] if "--bind" not in args else []
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail("keel-server started with %r" % args)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, out + err)
        self.assertNotIn("Ready to accept connections", out + err)
        return out + err

    def check_line(self, lines, bad_line, reason):
        text = "\n".join(lines) + "\n"
        path = write_conf(text)
        try:
            out = self.start_fails([path])
        finally:
            os.unlink(path)
        lineno = lines.index(bad_line) + 1
        self.assertIn("FATAL CONFIG", out)
        self.assertIn(path, out)
        self.assertIn("at line %d" % lineno, out)
        self.assertIn(">>> '%s'" % bad_line.strip(), out)
        self.assertIn(reason, out)

    def test_bad_directives_stop_start_up(self):
        good = ["# a comment", "bind 127.0.0.1", "timeout 0", ""]
        cases = [
            ("maxclients abc", "argument"),
            ("maxclients 0", "argument must be between 1 and"),
            ("nosuchdirective yes", "Bad directive or wrong number of arguments"),
            ('requirepass "abc', "Unbalanced quotes in configuration line"),
            ("requirepass 'a'b", "Unbalanced quotes in configuration line"),
            ("timeout", "wrong number of arguments"),
            ("client-output-buffer-limit normal 1mb", "wrong number of arguments"),
            ("client-output-buffer-limit nosuch 1mb 0 0", "Invalid client class"),
            ("appendonly maybe", "argument must be 'yes' or 'no'"),
            ("port 70000", "argument must be between 0 and 65535 inclusive"),
            ("proto-max-bulk-len 12q", "memory value"),
            # The core's own parameters are checked by CONFIG's table.
            ("maxmemory-policy lru", "argument(s) must be one of the following"),
            ("hash-max-listpack-entries x", "argument couldn't be parsed into an integer"),
            ("maxmemory 1gb 2gb", "Bad directive or wrong number of arguments"),
        ]
        for bad, reason in cases:
            with self.subTest(bad):
                self.check_line(good + [bad, "hz 10"], bad, reason)

    def test_bad_flag_stops_start_up(self):
        out = self.start_fails(["--maxclients", "zero"])
        self.assertIn("--maxclients", out)
        self.assertIn("argument", out)
        out = self.start_fails(["--nosuchflag", "1"])
        self.assertIn("--nosuchflag", out)
        self.assertIn("Bad directive", out)

    def test_core_parameters_in_the_file_and_flags(self):
        path = write_conf("hash-max-ziplist-entries 7\nmaxmemory 1gb\nlatency-tracking no\n")
        try:
            with KeelServer("--maxmemory-policy", "allkeys-lru", config=path) as server:
                c = server.conn()
                self.assertEqual(c.cmd("CONFIG", "GET", "hash-max-listpack-entries"),
                                 b"*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n7\r\n")
                self.assertEqual(c.cmd("CONFIG", "GET", "maxmemory"),
                                 b"*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n")
                self.assertEqual(c.cmd("CONFIG", "GET", "maxmemory-policy"),
                                 b"*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n")
        finally:
            os.unlink(path)

    def test_config_rewrite(self):
        text = ("# keep this comment\n"
                "maxmemory 1gb\n"
                "maxmemory 3gb\n"          # a duplicate: dropped
                "hz 20\n"
                "timeout 0\n"
                "log-format text\n")       # not a CONFIG parameter: kept
        path = write_conf(text)
        try:
            with KeelServer(config=path) as server:
                c = server.conn()
                self.assertEqual(c.cmd("CONFIG", "SET", "maxmemory", "2mb",
                                       "maxmemory-policy", "volatile-ttl",
                                       "requirepass", 'a "b" c'), b"+OK\r\n")
                self.assertEqual(c.cmd("CONFIG", "REWRITE"), b"+OK\r\n")
                with open(path) as f:
                    lines = f.read().splitlines()
                self.assertEqual(lines[0], "# keep this comment")
                self.assertEqual(lines[1], "maxmemory 2097152")
                self.assertEqual(lines[2], "hz 20")
                self.assertIn("log-format text", lines)
                self.assertEqual(sum(1 for l in lines if l.startswith("maxmemory ")), 1)
                self.assertIn("# Generated by CONFIG REWRITE", lines)
                self.assertIn("maxmemory-policy volatile-ttl", lines)
                self.assertIn('requirepass "a \\"b\\" c"', lines)
                # Defaults the file never named are not written.
                self.assertFalse(any(l.startswith("maxmemory-samples") for l in lines))
            # The rewritten file starts a server with the same values.
            with KeelServer(config=path) as server:
                c = server.conn()
                self.assertEqual(c.cmd("AUTH", 'a "b" c'), b"+OK\r\n")
                self.assertEqual(c.cmd("CONFIG", "GET", "maxmemory-policy"),
                                 b"*2\r\n$16\r\nmaxmemory-policy\r\n$12\r\nvolatile-ttl\r\n")
                self.assertEqual(c.cmd("CONFIG", "GET", "maxmemory"),
                                 b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n2097152\r\n")
        finally:
            os.unlink(path)

    def test_config_rewrite_without_a_file(self):
        with KeelServer() as server:
            self.assertEqual(server.conn().cmd("CONFIG", "REWRITE"),
                             b"-ERR The server is running without a config file\r\n")

    def test_missing_file_stops_start_up(self):
        path = os.path.join(tempfile.gettempdir(), "keel-it-no-such-file.conf")
        out = self.start_fails([path])
        self.assertIn(path, out)
        self.assertIn("No such file or directory", out)

    def test_flag_error_after_a_good_file(self):
        path = write_conf(GOOD_CONF)
        try:
            out = self.start_fails([path, "--hz", "1000"])
        finally:
            os.unlink(path)
        self.assertIn("--hz", out)
        self.assertIn("argument must be between 1 and 500 inclusive", out)


if __name__ == "__main__":
    main()
