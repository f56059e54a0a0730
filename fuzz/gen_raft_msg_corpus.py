#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_raft_msg.c to fuzz/corpus/raft_msg/.

Each seed is the bytes of one Raft message as core/raft/msg.c encodes it
(the format is in core/raft/msg.h): a msgpack array of 25 fields, a version
first. The writer below is a second, independent implementation of that
format; most seeds are what msg.c writes (shortest forms), a few use wider
forms it must also read, and a few are refused on purpose. Rerun after
editing:
    python3 fuzz/gen_raft_msg_corpus.py
Files this script does not know (minimised crashes added by hand) are kept.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "raft_msg")

(PREVOTE, PREVOTE_RESP, VOTE, VOTE_RESP, APPEND, APPEND_RESP, HEARTBEAT, HEARTBEAT_RESP,
 SNAPSHOT, SNAPSHOT_RESP, TIMEOUT_NOW) = range(1, 12)
NORMAL, NOOP, CONFIG = 1, 2, 3


def uint(v, wide=False):
    if wide:
        return b"\xcf" + struct.pack(">Q", v)
    if v < 0x80:
        return bytes([v])
    if v < 0x100:
        return b"\xcc" + bytes([v])
    if v < 0x10000:
        return b"\xcd" + struct.pack(">H", v)
    if v < 0x100000000:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def sint(v):
    if v >= 0:
        return uint(v)
    if v >= -32:
        return struct.pack(">b", v)
    if v >= -0x80:
        return b"\xd0" + struct.pack(">b", v)
    if v >= -0x8000:
        return b"\xd1" + struct.pack(">h", v)
    if v >= -0x80000000:
        return b"\xd2" + struct.pack(">i", v)
    return b"\xd3" + struct.pack(">q", v)


def boolean(b):
    return b"\xc3" if b else b"\xc2"


def binary(b):
    n = len(b)
    if n < 0x100:
        return b"\xc4" + bytes([n]) + b
    if n < 0x10000:
        return b"\xc5" + struct.pack(">H", n) + b
    return b"\xc6" + struct.pack(">I", n) + b


def array(items):
    n = len(items)
    if n < 16:
        head = bytes([0x90 | n])
    elif n < 0x10000:
        head = b"\xdc" + struct.pack(">H", n)
    else:
        head = b"\xdd" + struct.pack(">I", n)
    return head + b"".join(items)


def msg(type, frm=1, to=2, term=1, last_index=0, last_term=0, transfer=False, reject=False,
        prev_index=0, prev_term=0, commit=0, index=0, hint_index=0, hint_term=0, ctx=0,
        sent_ms=0, snap_index=0, snap_term=0, voters=(), learners=(), offset=0, total=0,
        done=False, data=b"", entries=(), wide=False):
    u = lambda v: uint(v, wide)  # noqa: E731
    fields = [u(1), u(type), u(frm), u(to), u(term), u(last_index), u(last_term),
              boolean(transfer), boolean(reject), u(prev_index), u(prev_term), u(commit),
              u(index), u(hint_index), u(hint_term), u(ctx), sint(sent_ms), u(snap_index),
              u(snap_term), array([array([u(v) for v in voters]), array([u(v) for v in learners])]),
              u(offset), u(total), boolean(done), binary(data),
              array([array([u(i), u(t), u(ty), binary(d)]) for (i, t, ty, d) in entries])]
    return array(fields)


SET = b"\x93\x00\x00\x91\x94\x00\xa3SET\xa1k\xa1v"  # some application payload


def seeds():
    out = {}
    out["prevote"] = msg(PREVOTE, 1, 2, term=5, last_index=120, last_term=4)
    out["prevote-resp"] = msg(PREVOTE_RESP, 2, 1, term=5)
    out["vote-transfer"] = msg(VOTE, 3, 1, term=6, last_index=121, last_term=5, transfer=True)
    out["vote-resp-reject"] = msg(VOTE_RESP, 1, 3, term=6, reject=True)
    out["append"] = msg(APPEND, 1, 2, term=7, prev_index=99, prev_term=6, commit=98, ctx=3,
                        sent_ms=1700000000000,
                        entries=[(100, 7, NOOP, b""), (101, 7, NORMAL, SET),
                                 (102, 7, CONFIG, b"\x92\x92\x01\x02\x91\x03"),
                                 (103, 7, NORMAL, bytes(range(256)) * 2)])
    out["append-many-empty"] = msg(APPEND, 1, 2, term=2, prev_index=1, prev_term=1,
                                   entries=[(2 + i, 2, NORMAL, b"") for i in range(40)])
    out["append-resp-reject"] = msg(APPEND_RESP, 2, 1, term=7, reject=True, index=99,
                                    hint_index=80, hint_term=5, ctx=3, sent_ms=1700000000000)
    out["append-resp"] = msg(APPEND_RESP, 2, 1, term=7, index=103, ctx=3, sent_ms=-5)
    out["heartbeat"] = msg(HEARTBEAT, 1, 3, term=7, commit=103, ctx=9, sent_ms=12345)
    out["heartbeat-resp"] = msg(HEARTBEAT_RESP, 3, 1, term=7, ctx=9, sent_ms=12345)
    out["snapshot-chunk"] = msg(SNAPSHOT, 1, 4, term=7, snap_index=90, snap_term=6,
                                voters=[1, 2, 3], learners=[4, 9], offset=0, total=1000,
                                data=bytes(range(200)) * 2)
    out["snapshot-last-chunk"] = msg(SNAPSHOT, 1, 4, term=7, snap_index=90, snap_term=6,
                                     voters=[1, 2, 3], learners=[4, 9], offset=400, total=1000,
                                     data=b"\x00" * 600, done=True)
    out["snapshot-full-config"] = msg(SNAPSHOT, 1, 2, term=3, snap_index=5, snap_term=3,
                                      voters=list(range(1, 9)), learners=list(range(100, 108)),
                                      total=0, done=True)
    out["snapshot-resp"] = msg(SNAPSHOT_RESP, 4, 1, term=7, offset=400, index=90)
    out["timeout-now"] = msg(TIMEOUT_NOW, 1, 2, term=7)
    m64 = 2**64 - 1
    out["extremes"] = msg(APPEND, m64, m64, m64, m64, m64, True, True, m64, m64, m64, m64, m64,
                          m64, m64, -2**63, m64, m64, [m64], [m64 - 1], m64, m64, True, b"x",
                          [(m64, m64, NORMAL, b"y")])
    # Wider forms than msg.c writes: read all the same.
    out["wide-ints"] = msg(APPEND, 1, 2, term=7, prev_index=5, entries=[(6, 7, NORMAL, b"a")],
                           voters=[1, 2], wide=True)
    # Refused: cut, trailing byte, bad type, a count that lies.
    hb = out["heartbeat"]
    out["err-truncated"] = out["append"][:-7]
    out["err-trailing"] = hb + b"\x00"
    out["err-type-0"] = msg(0)
    out["err-type-99"] = msg(99)
    lie = msg(APPEND, 1, 2, term=1)
    out["err-entry-count-lies"] = lie[:-1] + b"\xdd\x00\x01\x00\x00" + b"\x94\x01\x01\x01\xc4\x00"
    out["err-entry-len-lies"] = lie[:-1] + b"\x91\x94\x01\x01\x01\xc6\x00\x01\x00\x00ab"
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    s = seeds()
    for name, data in sorted(s.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(s), OUT))


if __name__ == "__main__":
    main()
