"""Clients that do not read their replies: the server's memory stays
bounded and other clients carry on; client-output-buffer-limit disconnects
them."""
import socket
import time
import unittest

from keelserver import HOST, KeelServer, encode, main, parse_value, wait_until

VALUE_LEN = 1_000_000  # under 1mb (1048576): one reply alone is within the limit
GET_BIG = encode("GET", "big")
REPLY_LEN = len(b"$%d\r\n" % VALUE_LEN) + VALUE_LEN + 2


def client_count(server):
    """Connections the server lists, not counting the one asking."""
    text = parse_value(server.call("CLIENT", "LIST"))
    return len(text.splitlines()) - 1


def get_calls(server):
    """How many GETs the server has run (INFO commandstats)."""
    text = parse_value(server.call("INFO", "commandstats")).decode()
    for line in text.splitlines():
        if line.startswith("cmdstat_get:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def non_reader(server, n_gets, small_rcvbuf=True):
    """A client (with a small receive buffer unless told otherwise) that
    sends n_gets GETs of the big value and does not read. Its requests are
    small enough to be taken by the kernel's buffers whether or not the
    server reads them."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((HOST, server.port))
    s.sendall(GET_BIG * n_gets)
    return s


def set_big(server):
    c = server.conn()
    try:
        assert c.cmd("SET", "big", b"v" * VALUE_LEN) == b"+OK\r\n"
    finally:
        c.close()


def peak_rss_kb(server, seconds):
    """The highest VmRSS seen while sampling for `seconds` (sampling, not
    synchronisation: the bound has to hold all along)."""
    peak = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, server.rss_kb())
        time.sleep(0.05)
    return peak


class NonReaderTest(unittest.TestCase):
    def test_memory_stays_bounded_and_others_carry_on(self):
        with KeelServer() as server:
            set_big(server)
            other = server.conn()
            self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
            before = server.rss_kb()
            # 3,000 replies of 1 MB: 3 GB if the server buffered them all.
            n = 3000
            s = non_reader(server, n)
            try:
                wait_until(lambda: get_calls(server) >= 5, 10, what="the GETs to run")
                peak = 0
                for i in range(10):
                    peak = max(peak, peak_rss_kb(server, 0.15))
                    # Others are served meanwhile, at once.
                    self.assertEqual(other.cmd("INCR", "other"), b":%d\r\n" % (i + 1))
                    self.assertEqual(len(other.cmd("GET", "big")), REPLY_LEN)
                grown_mb = (peak - before) / 1024
                print("\n  VmRSS before %d kB, peak %d kB (+%.1f MB) with %d GB unread"
                      % (before, peak, grown_mb, n * VALUE_LEN // 10**9))
                self.assertLess(grown_mb, 64, "memory grows with a client that does not read")
                self.assertTrue(server.alive())
                self.assertEqual(client_count(server), 2)
            finally:
                s.close()
            wait_until(lambda: client_count(server) == 1, 10, what="the non-reader to be gone")
            self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
            other.close()
        self.assertEqual(server.returncode, 0)

    def test_paused_client_gets_every_reply_once_it_reads(self):
        with KeelServer() as server:
            set_big(server)
            n = 100  # 100 MB of replies, far over the pause mark and the kernel's buffers
            s = non_reader(server, n, small_rcvbuf=False)
            try:
                s.sendall(b"PING\r\n")
                # Once the server has run some of the GETs (and is held up
                # by the unread replies), read everything.
                wait_until(lambda: get_calls(server) >= 5, 10, what="the GETs to run")
                want = n * REPLY_LEN + len(b"+PONG\r\n")
                got = 0
                tail = b""
                deadline = time.monotonic() + 60
                while got < want and time.monotonic() < deadline:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
                    tail = (tail + chunk)[-64:]
                self.assertEqual(got, want)
                self.assertTrue(tail.endswith(b"v\r\n+PONG\r\n"))
                s.sendall(b"PING\r\n")
                self.assertEqual(s.recv(100), b"+PONG\r\n")
            finally:
                s.close()
        self.assertEqual(server.returncode, 0)


class OutputLimitTest(unittest.TestCase):
    def test_hard_limit_disconnects_a_non_reader(self):
        with KeelServer("--client-output-buffer-limit", "normal", "1mb", "0", "0") as server:
            set_big(server)
            other = server.conn()
            # One reply under the limit, read as it comes: fine.
            self.assertEqual(len(other.cmd("GET", "big")), REPLY_LEN)
            s = non_reader(server, 100)
            try:
                wait_until(lambda: client_count(server) == 1, 10, what="the non-reader's disconnection")
                # What the socket still holds can be read, then EOF (or a
                # reset): the server closed it.
                s.settimeout(10)
                total = 0
                try:
                    while True:
                        chunk = s.recv(1 << 20)
                        if not chunk:
                            break
                        total += len(chunk)
                except ConnectionResetError:
                    pass
                self.assertLess(total, 100 * REPLY_LEN)
            finally:
                s.close()
            self.assertEqual(other.cmd("PING"), b"+PONG\r\n")
            self.assertEqual(len(other.cmd("GET", "big")), REPLY_LEN)
            other.close()
            self.assertTrue(server.alive())
        self.assertEqual(server.returncode, 0)

    def test_soft_limit_disconnects_after_its_seconds(self):
        with KeelServer("--client-output-buffer-limit", "normal", "0", "1mb", "1") as server:
            set_big(server)
            t0 = time.monotonic()
            s = non_reader(server, 100)
            try:
                wait_until(lambda: client_count(server) == 0, 10, what="the soft limit to act")
                self.assertGreaterEqual(time.monotonic() - t0, 0.9, "closed before the soft seconds")
            finally:
                s.close()
            self.assertTrue(server.alive())
        self.assertEqual(server.returncode, 0)

    def test_limit_above_the_pause_mark_still_acts(self):
        # 16mb is over the 4 MB mark where keel stops running a client's
        # commands: the limit must still see the output it is about.
        with KeelServer("--client-output-buffer-limit", "normal", "16mb", "0", "0") as server:
            set_big(server)
            s = non_reader(server, 100)
            try:
                wait_until(lambda: client_count(server) == 0, 10, what="the hard limit to act")
            finally:
                s.close()
        self.assertEqual(server.returncode, 0)


class StuckWriteCloseTest(unittest.TestCase):
    """A client whose replies cannot go out (it does not read) is still
    closed at once by CLIENT KILL and by the idle timeout, as Redis does:
    its unsent output is dropped, not waited for."""

    N = 20

    def stuck_client(self, server):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect((HOST, server.port))
        s.sendall(encode("CLIENT", "ID"))
        reply = s.recv(100)
        self.assertTrue(reply.startswith(b":"), reply)
        s.sendall(GET_BIG * self.N)
        # Stuck: the server ran enough GETs to fill every buffer between.
        wait_until(lambda: get_calls(server) >= 5, 10, what="the GETs to run")
        return s, int(reply[1:-2])

    def assert_dropped(self, s):
        """The server closed s without sending all of its replies."""
        total = 0
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("still open after %d bytes" % total)
        self.assertLess(total, self.N * REPLY_LEN, "all the replies went out before the close")

    def test_client_kill(self):
        with KeelServer() as server:
            set_big(server)
            s, cid = self.stuck_client(server)
            try:
                self.assertEqual(server.call("CLIENT", "KILL", "ID", cid), b":1\r\n")
                wait_until(lambda: client_count(server) == 0, 10, what="the killed client to be gone")
                self.assert_dropped(s)
            finally:
                s.close()
        self.assertEqual(server.returncode, 0)

    def test_idle_timeout(self):
        with KeelServer("--timeout", "1") as server:
            set_big(server)
            s, _ = self.stuck_client(server)
            try:
                wait_until(lambda: client_count(server) == 0, 10, what="the idle timeout to close it")
                self.assert_dropped(s)
            finally:
                s.close()
        self.assertEqual(server.returncode, 0)


if __name__ == "__main__":
    main()
