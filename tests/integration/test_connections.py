"""Many clients at once, maxclients, and the idle timeout."""
import errno
import resource
import selectors
import socket
import time
import unittest

from keelserver import HOST, KeelServer, encode, main, parse_value, wait_until

N_CLIENTS = 1000


def raise_nofile(need):
    """Raises this process's open-file limit (the server, started after,
    inherits it). Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


def client_count(server):
    """Connections the server lists (CLIENT LIST), this one included."""
    c = server.conn()
    try:
        reply = c.cmd("CLIENT", "LIST")
    finally:
        c.close()
    text = parse_value(reply)
    assert isinstance(text, bytes), reply
    return len(text.splitlines())


class ManyClientsTest(unittest.TestCase):
    def test_thousand_concurrent_connections(self):
        need = N_CLIENTS + 200
        if raise_nofile(need) < need:
            self.skipTest("RLIMIT_NOFILE cannot be raised to %d" % need)
        with KeelServer() as server:
            sel = selectors.DefaultSelector()
            socks = []
            try:
                # Connect all at once: non-blocking connects in a burst.
                for i in range(N_CLIENTS):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    err = s.connect_ex((HOST, server.port))
                    self.assertIn(err, (0, errno.EINPROGRESS))
                    socks.append(s)
                    sel.register(s, selectors.EVENT_WRITE, {"i": i, "buf": b""})
                replies = {}
                deadline = time.monotonic() + 60
                while len(replies) < N_CLIENTS and time.monotonic() < deadline:
                    for key, ev in sel.select(timeout=1.0):
                        s, st = key.fileobj, key.data
                        if ev & selectors.EVENT_WRITE:
                            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                            self.assertEqual(err, 0, "connect %d: %s" % (st["i"], errno.errorcode.get(err)))
                            s.send(encode("INCR", "it:conns"))  # a few bytes: fits any buffer
                            sel.modify(s, selectors.EVENT_READ, st)
                        elif ev & selectors.EVENT_READ:
                            chunk = s.recv(100)
                            self.assertTrue(chunk, "client %d: closed before its reply" % st["i"])
                            st["buf"] += chunk
                            if st["buf"].endswith(b"\r\n"):
                                replies[st["i"]] = st["buf"]
                                sel.unregister(s)
                self.assertEqual(len(replies), N_CLIENTS, "replies within the time bound")
                values = sorted(int(r[1:-2]) for r in replies.values() if r.startswith(b":"))
                self.assertEqual(values, list(range(1, N_CLIENTS + 1)),
                                 "every INCR ran once, each client got its own value")
                # All of them are still connected, and the server serves more.
                self.assertEqual(client_count(server), N_CLIENTS + 1)
                for s in socks[:50]:
                    s.setblocking(True)
                    s.settimeout(5)
                    s.sendall(b"PING\r\n")
                    self.assertEqual(s.recv(100), b"+PONG\r\n")
            finally:
                sel.close()
                for s in socks:
                    s.close()
            wait_until(lambda: client_count(server) == 1, 10, what="the server to see the closes")
            self.assertEqual(server.call("GET", "it:conns"), b"$4\r\n1000\r\n")
            self.assertTrue(server.alive())
        self.assertEqual(server.returncode, 0)


class MaxClientsTest(unittest.TestCase):
    def test_eleventh_connection_is_refused(self):
        with KeelServer("--maxclients", "10") as server:
            conns = [server.conn() for _ in range(10)]
            try:
                for c in conns:
                    self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
                extra = server.conn()
                # Refused with Redis's text, then closed, without a request.
                self.assertTrue(extra.closed_by_peer(5))
                self.assertEqual(extra.buf, b"-ERR max number of clients reached\r\n")
                extra.close()
                # The ten carry on.
                for i, c in enumerate(conns):
                    self.assertEqual(c.cmd("INCR", "mc"), b":%d\r\n" % (i + 1))
                # A freed slot is taken by the next connection.
                conns.pop().close()

                def admitted():
                    # Until the server has seen the close, a new connection
                    # is still refused: its error comes as the PING's reply.
                    c = server.conn()
                    try:
                        r = c.cmd("PING")
                    except EOFError as e:
                        r = e.args[0]
                    if r == b"+PONG\r\n":
                        return c
                    c.close()
                    self.assertEqual(r, b"-ERR max number of clients reached\r\n")
                    return None
                c = wait_until(admitted, 5, what="a slot to free up")
                conns.append(c)
                extra = server.conn()
                self.assertTrue(extra.closed_by_peer(5))
                self.assertEqual(extra.buf, b"-ERR max number of clients reached\r\n")
                extra.close()
            finally:
                for c in conns:
                    c.close()
            self.assertTrue(server.alive())
        self.assertEqual(server.returncode, 0)


class IdleTimeoutTest(unittest.TestCase):
    def test_idle_client_closed_busy_client_kept(self):
        with KeelServer("--timeout", "1") as server:
            idle = server.conn()
            in_multi = server.conn()
            busy = server.conn()
            try:
                self.assertEqual(idle.cmd("PING"), b"+PONG\r\n")
                self.assertEqual(in_multi.cmd("MULTI"), b"+OK\r\n")
                t0 = time.monotonic()
                idle.sock.setblocking(False)
                in_multi.sock.setblocking(False)
                closed = {}
                n = 0
                # The busy client keeps talking (its requests pace the loop:
                # a short pause between them); the others are polled for
                # EOF, for at least 2.5 timeouts and at most 6 s.
                while time.monotonic() - t0 < 6 and (len(closed) < 2 or time.monotonic() - t0 < 2.5):
                    n += 1
                    self.assertEqual(busy.cmd("INCR", "busy"), b":%d\r\n" % n)
                    for name, c in (("idle", idle), ("multi", in_multi)):
                        if name in closed:
                            continue
                        try:
                            if c.sock.recv(100) == b"":
                                closed[name] = time.monotonic() - t0
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed[name] = time.monotonic() - t0
                    time.sleep(0.1)
                self.assertIn("idle", closed, "the idle client was not closed within 6 s")
                self.assertIn("multi", closed, "the client idle in MULTI was not closed within 6 s")
                for name, after in closed.items():
                    self.assertGreaterEqual(after, 0.9, "%s closed before the timeout" % name)
                # The busy client outlived two timeouts and is still served.
                self.assertGreaterEqual(time.monotonic() - t0, 2.5)
                self.assertEqual(busy.cmd("PING"), b"+PONG\r\n")
            finally:
                idle.close()
                in_multi.close()
                busy.close()
        self.assertEqual(server.returncode, 0)

    def test_no_timeout_by_default(self):
        with KeelServer() as server:
            c = server.conn()
            try:
                # Nothing closes it within 2 s (the wait is the bound itself).
                self.assertFalse(c.closed_by_peer(2))
                self.assertEqual(c.cmd("PING"), b"+PONG\r\n")
            finally:
                c.close()


if __name__ == "__main__":
    main()
