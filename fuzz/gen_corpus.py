#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_resp.c to fuzz/corpus/resp/.

Each seed is: settings byte, chunking seed byte, then the client's byte
stream (see the comment at the top of fuzz_resp.c). Rerun after editing:
    python3 fuzz/gen_corpus.py
Files this script does not know (minimised crashes added by hand) are kept.
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "resp")

# settings byte
DEF = 0x00            # Redis defaults, no AUTH
INL16 = 0x01          # inline_max = 16
INL64 = 0x02          # inline_max = 64
BULK8 = 0x04          # bulk_max = 8
BULK100 = 0x08        # bulk_max = 100
Q64 = 0x10            # query_max = 64
Q300 = 0x20           # query_max = 300
AUTH = 0x40           # auth_required


def mb(*args):
    """A multibulk command."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


SEEDS = {
    # valid multibulk
    "mb-set-get-pipeline": (DEF, 0x00, mb("SET", "foo", "bar") + mb("GET", "foo") + mb("PING")),
    "mb-binary-value": (DEF, 0x01, mb("SET", "k", b"a\r\nb\x00c*$\r\n")),
    "mb-empty-arg": (DEF, 0x02, mb("GET", "") + mb("ECHO", "")),
    "mb-empty-commands": (DEF, 0x03, b"*0\r\n*-1\r\n*-5\r\n" + mb("PING")),
    "mb-many-args": (DEF, 0x13, mb("MSET", *["k%d" % i for i in range(12)])),
    "mb-mixed-inline": (DEF, 0x27, b"PING\r\n" + mb("PING") + b"ECHO hi\n" + mb("GET", "x")),
    "mb-no-crlf-after-bulk": (DEF, 0x05, b"*1\r\n$3\r\nfooXY" + mb("PING")),
    "mb-bare-lf": (DEF, 0x06, b"*1\n$4\nPING\n"),
    "mb-partial": (DEF, 0x07, mb("SET", "a", "b") + b"*3\r\n$3\r\nSET\r\n$1\r"),
    "mb-big-count-prefix": (DEF, 0x08, b"*2147483647\r\n$1\r\na\r\n"),
    "mb-big-bulk-prefix": (DEF, 0x09, b"*1\r\n$536870912\r\nabc"),
    # valid inline
    "in-simple": (DEF, 0x00, b"PING\r\nSET a b\nGET a\r\n"),
    "in-quotes": (DEF, 0x01, b"SET \"a\\\"b c\" 'it\\'s'\r\n"),
    "in-escapes": (DEF, 0x02, b"SET k \"\\x41\\x4a\\xff\\xZZ\\n\\r\\t\\b\\a\\\\\"\r\n"),
    "in-blank-lines": (DEF, 0x03, b"\r\n\n   \r\n\t\nPING\n"),
    "in-nul": (DEF, 0x04, b"SET k \x00v\r\n"),
    "in-long-arg": (DEF, 0x8f, b"SET k " + b"v" * 200 + b"\r\n"),
    "in-empty-quoted": (DEF, 0x11, b"SET \"\" ''\r\n"),
    "in-partial": (DEF, 0x12, b"GET abc"),
    # errors
    "err-unbalanced-dquote": (DEF, 0x01, b"PING\r\nSET \"abc\r\n"),
    "err-unbalanced-squote": (DEF, 0x02, b"GET 'abc\n"),
    "err-quote-then-char": (DEF, 0x03, b"SET \"a\"b\r\n"),
    "err-mbulk-len": (DEF, 0x00, b"*abc\r\n"),
    "err-mbulk-len-plus": (DEF, 0x01, b"*+1\r\n"),
    "err-mbulk-len-intmax": (DEF, 0x03, b"*2147483648\r\n"),
    "err-bulk-len": (DEF, 0x04, b"*1\r\n$abc\r\n"),
    "err-bulk-len-neg": (DEF, 0x05, b"*1\r\n$-1\r\n"),
    "err-bulk-len-too-long": (DEF, 0x06, b"*1\r\n$536870913\r\n"),
    "err-expected-dollar": (DEF, 0x07, mb("PING") + b"*1\r\n:3\r\n"),
    "err-inline-too-big": (INL16, 0x00, b"SET aaaaaaaaaaaaaaaaaaaa\r\n"),
    "err-mbulk-count-too-big": (INL16, 0x01, b"*11111111111111111111"),
    "err-bulk-count-too-big": (INL16, 0x02, b"*1\r\n$1111111111111111111111"),
    "err-bulk-max-small": (BULK8, 0x03, mb("GET", "1234567") + mb("GET", "123456789")),
    "err-bulk-max-100": (BULK100 | INL64, 0x04, mb("SET", "k", "v" * 100) + mb("SET", "k", "v" * 101)),
    "err-query-limit-64": (Q64, 0x05, mb("PING") + mb("SET", "k", "v" * 60)),
    "err-query-limit-300": (Q300, 0x06, mb("SET", "k", "v" * 200) + mb("SET", "k", "v" * 300)),
    "err-unauth-mbulk": (AUTH, 0x07, mb("AUTH", "pw") + mb("MSET", *["k"] * 11)),
    "err-unauth-bulk": (AUTH, 0x08, b"*1\r\n$16385\r\n"),
    "auth-ok": (AUTH, 0x09, mb("AUTH", "secret") + mb(*["x"] * 10) + b"*1\r\n$16384\r\n"),
    "all-small-auth": (AUTH | Q64 | BULK8 | INL16, 0x0b, b"PING\r\n" + mb("GET", "k") + b"SET \"a b\" c\r\n"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (settings, chunk, stream) in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([settings, chunk]) + stream)
    print("wrote %d seeds to %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
