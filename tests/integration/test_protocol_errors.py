"""Protocol errors on a live server: each gets exactly Redis's
"-ERR Protocol error: ..." reply, then the server closes that connection,
while another client on the same server carries on."""
import unittest

from keelserver import KeelServer, main

BIG = 70 * 1024  # over Redis's 64 KB inline / count-string limits

CASES = [
    ("invalid multibulk length", b"*abc\r\n",
     b"-ERR Protocol error: invalid multibulk length\r\n"),
    ("multibulk length over INT_MAX", b"*3000000000\r\n",
     b"-ERR Protocol error: invalid multibulk length\r\n"),
    ("invalid bulk length", b"*1\r\n$abc\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n"),
    ("negative bulk length", b"*1\r\n$-5\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n"),
    ("bulk length over proto-max-bulk-len", b"*1\r\n$600000000\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n"),
    ("expected '$'", b"*2\r\n$3\r\nGET\r\nfoo\r\n",
     b"-ERR Protocol error: expected '$', got 'f'\r\n"),
    ("too big inline request", b"x" * BIG,
     b"-ERR Protocol error: too big inline request\r\n"),
    ("unbalanced quotes", b'SET k "unterminated\r\n',
     b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ("unbalanced single quotes", b"SET k 'a'b\r\n",
     b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ("too big mbulk count string", b"*" + b"1" * BIG,
     b"-ERR Protocol error: too big mbulk count string\r\n"),
    ("too big bulk count string", b"*1\r\n$" + b"1" * BIG,
     b"-ERR Protocol error: too big bulk count string\r\n"),
]


class ProtocolErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer().start()
        cls.bystander = cls.server.conn()

    @classmethod
    def tearDownClass(cls):
        cls.bystander.close()
        code = cls.server.stop()
        assert code == 0, "keel-server exited %r\n%s" % (code, cls.server.log.decode(errors="replace"))

    def ping_bystander(self):
        self.assertEqual(self.bystander.cmd("PING"), b"+PONG\r\n")

    def test_each_protocol_error(self):
        for name, data, expect in CASES:
            with self.subTest(name):
                self.ping_bystander()
                c = self.server.conn()
                try:
                    # A good command first: the error comes after its reply.
                    c.send(b"*2\r\n$4\r\nECHO\r\n$2\r\nok\r\n" + data)
                    self.assertTrue(c.closed_by_peer(10), "%s: connection left open" % name)
                    self.assertEqual(c.buf, b"$2\r\nok\r\n" + expect, name)
                finally:
                    c.close()
                self.ping_bystander()
        self.assertTrue(self.server.alive())

    def test_commands_before_the_error_in_the_same_packet_run(self):
        c = self.server.conn()
        try:
            c.send(b"SET pe:k 1\r\nINCR pe:k\r\n*1\r\n$x\r\nINCR pe:k\r\n")
            self.assertTrue(c.closed_by_peer(10))
            self.assertEqual(c.buf, b"+OK\r\n:2\r\n-ERR Protocol error: invalid bulk length\r\n")
        finally:
            c.close()
        # The command after the error was not run.
        self.assertEqual(self.bystander.cmd("GET", "pe:k"), b"$1\r\n2\r\n")

    def test_error_split_across_packets(self):
        c = self.server.conn()
        try:
            c.send(b"*1\r\n")
            self.assertEqual(self.bystander.cmd("PING"), b"+PONG\r\n")
            c.send(b"$1")
            self.assertEqual(self.bystander.cmd("PING"), b"+PONG\r\n")
            c.send(b"0x\r\n")
            self.assertTrue(c.closed_by_peer(10))
            self.assertEqual(c.buf, b"-ERR Protocol error: invalid bulk length\r\n")
        finally:
            c.close()

    def test_what_is_not_an_error(self):
        c = self.server.conn()
        try:
            # Empty lines, a negative multibulk count, and an empty
            # multibulk are skipped, as Redis does.
            c.send(b"\r\n\r\n*-1\r\n*0\r\nPING\r\n")
            self.assertEqual(c.reply(), b"+PONG\r\n")
            # A long inline request just under the limit is fine.
            c.send(b"ECHO " + b"y" * (60 * 1024) + b"\r\n")
            self.assertEqual(c.reply(), b"$%d\r\n%s\r\n" % (60 * 1024, b"y" * (60 * 1024)))
            self.assertFalse(c.closed_by_peer(0.2))
        finally:
            c.close()


if __name__ == "__main__":
    main()
