"""keel-server driven by Debian's redis-cli (redis-tools): one-shot commands,
--pipe mass insertion, --scan, and the interactive mode under a
pseudo-terminal."""
import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import time
import unittest

from keelserver import KeelServer, main, parse_value, skip_script

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def cli_env():
    env = dict(os.environ)
    env["REDISCLI_HISTFILE"] = "/dev/null"
    env.pop("REDISCLI_AUTH", None)
    env["TERM"] = "xterm"
    return env


class RedisCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer().start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        assert code == 0, "keel-server exited %r\n%s" % (code, cls.server.log.decode(errors="replace"))

    def cli(self, *args, stdin=None, timeout=30):
        p = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.server.port)] + list(args),
                           input=stdin, capture_output=True, timeout=timeout, env=cli_env())
        return p

    def out(self, *args):
        """redis-cli --no-raw: formatted as on a terminal ("(integer) 1")."""
        p = self.cli("--no-raw", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode()

    def test_one_shot_commands(self):
        self.assertEqual(self.out("SET", "cli:s", "hello world"), "OK\n")
        self.assertEqual(self.out("GET", "cli:s"), '"hello world"\n')
        self.assertEqual(self.out("GET", "cli:missing"), "(nil)\n")
        self.assertEqual(self.out("INCR", "cli:n"), "(integer) 1\n")
        self.assertEqual(self.out("INCR", "cli:n"), "(integer) 2\n")
        self.assertEqual(self.out("HSET", "cli:h", "f1", "v1", "f2", "v2"), "(integer) 2\n")
        self.assertEqual(self.out("HGETALL", "cli:h"), '1) "f1"\n2) "v1"\n3) "f2"\n4) "v2"\n')
        self.assertEqual(self.out("HGETALL", "cli:none"), "(empty array)\n")
        # The raw mode (stdout not a terminal) prints bare values.
        self.assertEqual(self.cli("GET", "cli:s").stdout, b"hello world\n")

    def test_errors_are_printed_as_redis_does(self):
        self.out("HSET", "cli:wt", "f", "v")
        self.assertEqual(self.out("INCR", "cli:wt"),
                         "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n")
        self.assertEqual(self.out("NOSUCHCOMMAND", "a", "b"),
                         "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' 'b' \n")
        self.assertEqual(self.out("GET"),
                         "(error) ERR wrong number of arguments for 'get' command\n")
        self.out("SET", "cli:str", "x")
        self.assertEqual(self.out("INCR", "cli:str"),
                         "(error) ERR value is not an integer or out of range\n")

    def test_pipe_mass_insertion_of_a_million_keys(self):
        n = 1_000_000
        self.assertEqual(self.out("FLUSHALL"), "OK\n")
        with tempfile.TemporaryFile() as f:
            chunk = []
            for i in range(n):
                k = b"pipe:%d" % i
                v = b"value:%d" % i
                chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
                if len(chunk) == 100_000:
                    f.write(b"".join(chunk))
                    chunk = []
            f.write(b"".join(chunk))
            f.seek(0)
            p = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.server.port), "--pipe"],
                               stdin=f, capture_output=True, timeout=120, env=cli_env())
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        self.assertIn("All data transferred", out)
        self.assertIn("errors: 0, replies: %d" % n, out)
        self.assertEqual(self.out("DBSIZE"), "(integer) %d\n" % n)
        self.assertEqual(self.out("GET", "pipe:0"), '"value:0"\n')
        self.assertEqual(self.out("GET", "pipe:999999"), '"value:999999"\n')
        self.assertEqual(self.out("GET", "pipe:1000000"), "(nil)\n")
        self.assertEqual(self.out("FLUSHALL"), "OK\n")

    def test_stat(self):
        """--stat prints a line per interval from INFO: keys, memory,
        clients, blocked clients, requests (with the delta), connections."""
        c = self.server.conn()
        try:
            for i in range(7):
                self.assertEqual(c.cmd("SET", "stat:%d" % i, "v"), b"+OK\r\n")
            self.assertEqual(c.cmd("SELECT", "3"), b"+OK\r\n")
            self.assertEqual(c.cmd("SET", "stat:db3", "v"), b"+OK\r\n")
            # redis-cli --stat runs until stopped: read its first lines.
            proc = subprocess.Popen(["stdbuf", "-o0", REDIS_CLI, "-h", "127.0.0.1", "-p",
                                     str(self.server.port), "--stat", "-i", "0.1"],
                                    stdout=subprocess.PIPE, env=cli_env())
            try:
                lines = [proc.stdout.readline().decode() for _ in range(4)]
            finally:
                proc.kill()
                proc.wait()
        finally:
            c.close()
        self.assertIn("keys", lines[1])
        self.assertIn("requests", lines[1])
        first, second = lines[2].split(), lines[3].split()
        # keys sums every database's keyspace line; 2 clients (c and --stat).
        total = int(parse_value(self.server.call("DBSIZE"))) + 1  # + db 3
        self.assertEqual(int(first[0]), total)
        self.assertGreaterEqual(int(first[2]), 2)
        self.assertEqual(first[3], "0")
        # requests are total_commands_processed, rising by --stat's INFO.
        self.assertGreater(int(second[4]), int(first[4]))
        self.assertRegex(second[5], r"^\(\+\d+\)$")

    def test_pipe_reports_errors(self):
        data = b"SET pipe:e 1\r\nHSET pipe:e f v\r\nINCR pipe:e\r\n"
        p = self.cli("--pipe", stdin=data)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertIn("errors: 1, replies: 3", out)
        self.assertIn("WRONGTYPE Operation against a key holding the wrong kind of value", out)

    def test_scan_with_pattern(self):
        c = self.server.conn()
        try:
            req = b"".join(b"SET scan:user:%d x\r\n" % i for i in range(300))
            req += b"".join(b"SET scan:other:%d x\r\n" % i for i in range(120))
            c.send(req)
            for _ in range(420):
                self.assertEqual(c.reply(), b"+OK\r\n")
        finally:
            c.close()
        p = self.cli("--scan", "--pattern", "scan:user:*")
        self.assertEqual(p.returncode, 0, p.stderr)
        keys = p.stdout.decode().split()
        self.assertEqual(sorted(keys), sorted("scan:user:%d" % i for i in range(300)))
        p = self.cli("--scan", "--pattern", "scan:other:1?")
        self.assertEqual(sorted(p.stdout.decode().split()), sorted("scan:other:1%d" % i for i in range(10)))
        p = self.cli("--scan", "--pattern", "scan:*")
        self.assertEqual(len(set(p.stdout.decode().split())), 420)
        p = self.cli("--scan", "--pattern", "nothing:*")
        self.assertEqual(p.stdout, b"")


class Pty:
    """redis-cli in interactive mode on a pseudo-terminal."""

    def __init__(self, argv, env):
        self.master, slave = pty.openpty()
        # A window size, so linenoise does not ask the terminal for it.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True, start_new_session=True)
        os.close(slave)
        self.out = b""

    def write(self, data):
        os.write(self.master, data)

    def expect(self, needle, timeout=10.0):
        """Reads until needle appears in the output after the last match;
        returns what was read up to and including it."""
        deadline = time.monotonic() + timeout
        while needle not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got %r" % (needle, self.out[-2000:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("redis-cli ended waiting for %r; got %r" % (needle, self.out[-2000:]))
                self.out += chunk
        i = self.out.index(needle) + len(needle)
        seen, self.out = self.out[:i], self.out[i:]
        return seen

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        os.close(self.master)


class InteractiveTest(unittest.TestCase):
    def setUp(self):
        self.server = KeelServer().start()
        self.prompt = b"127.0.0.1:%d> " % self.server.port
        self.term = Pty([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.server.port)], cli_env())

    def tearDown(self):
        self.term.close()
        self.assertEqual(self.server.stop(), 0)

    def command_docs_available(self):
        v = parse_value(self.server.call("COMMAND", "DOCS", "set"))
        return isinstance(v, list) and len(v) == 2

    def test_commands_and_replies(self):
        t = self.term
        t.expect(self.prompt)
        # Each keystroke redraws the prompt: a reply is the text between
        # the line's end and the next prompt.
        p = self.prompt
        t.write(b"SET greeting \"hello there\"\r")
        t.expect(b"\r\nOK\r\n" + p)
        t.write(b"GET greeting\r")
        t.expect(b'\r\n"hello there"\r\n' + p)
        t.write(b"INCR counter\r")
        t.expect(b"\r\n(integer) 1\r\n" + p)
        t.write(b"INCR greeting\r")
        t.expect(b"\r\n(error) ERR value is not an integer or out of range\r\n" + p)
        t.write(b"HSET h a 1 b 2\r")
        t.expect(b"\r\n(integer) 2\r\n" + p)
        t.write(b"HGETALL h\r")
        t.expect(b'\r\n1) "a"\r\n2) "1"\r\n3) "b"\r\n4) "2"\r\n' + p)
        t.write(b"quit\r")
        self.assertEqual(t.proc.wait(10), 0)

    def test_hints(self):
        if not self.command_docs_available():
            self.skipTest("COMMAND DOCS has not landed: redis-cli's hints come from it")
        t = self.term
        t.expect(self.prompt)
        # Typing a command name shows its arguments as a grey hint.
        t.write(b"HSET ")
        t.expect(b"key field value [field value ...]")
        t.write(b"\x15")  # ctrl-U: clear the line
        t.write(b"SET k ")
        t.expect(b"value [NX|XX]")
        t.write(b"\x15GET k\r")
        t.expect(b"\r\n(nil)\r\n" + self.prompt)


if __name__ == "__main__":
    if not os.access(REDIS_CLI, os.X_OK):
        skip_script("redis-cli not found (Debian package redis-tools)")
    main()
