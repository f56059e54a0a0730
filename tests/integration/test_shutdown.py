"""SIGTERM under load: the server drains and exits 0, and every reply a
client received is for a command that ran exactly once."""
import signal
import socket
import threading
import time
import unittest

from keelserver import HOST, KeelServer, RespConn, encode, main, wait_until

N_CLIENTS = 8
WINDOW = 64  # INCRs in flight per client


class Pipeliner(threading.Thread):
    """INCRs its own key with up to WINDOW requests in flight, until the
    server closes the connection; keeps every reply value it got."""

    def __init__(self, port, key):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((HOST, port), timeout=20)
        self.req = encode("INCR", key)
        self.values = []
        self.error = None
        self.ended = None  # how the connection ended

    def run(self):
        buf = b""
        sent = 0
        try:
            while True:
                if sent - len(self.values) < WINDOW:
                    k = WINDOW - (sent - len(self.values))
                    try:
                        self.sock.sendall(self.req * k)
                        sent += k
                    except OSError as e:  # the server stopped reading, or closed
                        self.ended = "send: %s" % e.__class__.__name__
                        sent = -1
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.ended = self.ended or "EOF"
                    break
                buf += chunk
                lines = buf.split(b"\r\n")
                buf = lines.pop()
                for line in lines:
                    if not line.startswith(b":"):
                        raise AssertionError("unexpected reply %r" % line)
                    self.values.append(int(line[1:]))
                if sent < 0:
                    sent = len(self.values) + WINDOW  # send no more; keep reading
        except ConnectionResetError:
            self.ended = "reset"
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            self.sock.close()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_under_load(self):
        server = KeelServer().start()
        try:
            clients = [Pipeliner(server.port, "sd:%d" % i) for i in range(N_CLIENTS)]
            for c in clients:
                c.start()
            # Under load: every client has had replies.
            wait_until(lambda: all(len(c.values) >= 2000 for c in clients), 30,
                       what="each client to get 2000 replies")
            t0 = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            code = server.wait(20)
            took = time.monotonic() - t0
            for c in clients:
                c.join(20)
                self.assertFalse(c.is_alive(), "a client still connected after the server exited")
            self.assertEqual(code, 0, server.log.decode(errors="replace"))
            self.assertLess(took, 10)
            total = 0
            for i, c in enumerate(clients):
                self.assertIsNone(c.error, "client %d: %r" % (i, c.error))
                # Each reply is the next value of the client's own counter:
                # 1..k, no gap, no repeat. A reply means the INCR ran once.
                self.assertEqual(c.values, list(range(1, len(c.values) + 1)), "client %d" % i)
                self.assertIsNotNone(c.ended)
                total += len(c.values)
            log = server.log.decode(errors="replace")
            self.assertIn("shutting down", log)
            self.assertIn("ready to exit", log)
            print("\n  %d replies over %d clients; exit %d after %.2fs; ends: %s"
                  % (total, N_CLIENTS, code, took, sorted(set(c.ended for c in clients))))
            # Nothing listens any more.
            with self.assertRaises(OSError):
                socket.create_connection((HOST, server.port), timeout=2).close()
        finally:
            server.stop(signal.SIGKILL)

    def test_sigterm_with_a_client_that_does_not_read(self):
        """The drain is bounded: a client that never reads its replies does
        not hold the exit."""
        server = KeelServer().start()
        try:
            c = server.conn()
            self.assertEqual(c.cmd("SET", "big", b"v" * 1_000_000), b"+OK\r\n")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect((HOST, server.port))
            s.sendall(encode("GET", "big") * 20)
            # The server is stuck on it once it has run the GETs.
            wait_until(lambda: b"cmdstat_get:calls=" in c.cmd("INFO", "commandstats"), 10,
                       what="the GETs to run")
            t0 = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(15), 0)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertTrue(c.closed_by_peer(5))
            c.close()
            s.close()
        finally:
            server.stop(signal.SIGKILL)

    def test_sigterm_idle_server(self):
        server = KeelServer().start()
        c = server.conn()
        self.assertEqual(c.cmd("SET", "k", "v"), b"+OK\r\n")
        self.assertEqual(server.stop(signal.SIGTERM), 0)
        self.assertTrue(c.closed_by_peer(5))
        c.close()

    def test_sigint(self):
        server = KeelServer().start()
        self.assertEqual(server.stop(signal.SIGINT), 0)

    def test_shutdown_command(self):
        server = KeelServer().start()
        other = RespConn(server.port)
        other.send(b"PING\r\n")
        self.assertEqual(other.reply(), b"+PONG\r\n")
        c = RespConn(server.port)
        c.send(b"SHUTDOWN NOSAVE\r\n")
        # No reply: the server closes every connection and exits 0.
        self.assertTrue(c.closed_by_peer())
        self.assertTrue(other.closed_by_peer())
        self.assertEqual(server.wait(10), 0)


if __name__ == "__main__":
    main()
