#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_wal.c to fuzz/corpus/wal/.

Each seed is a mode byte and the mode's bytes (see the comment at the top of
fuzz_wal.c). The raw modes need real checksums: segments and snapshots are
written with tests/integration/walfmt.py (a Python writer of the format,
XXH3 from the system's libxxhash). Rerun after editing:
    python3 fuzz/gen_wal_corpus.py
Files this script does not know (minimised crashes added by hand) are kept.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import walfmt  # noqa: E402

OUT = os.path.join(HERE, "corpus", "wal")

RAW_SEGMENT, RAW_LOG, RAW_SNAPSHOT, BUILT_LOG, BUILT_SNAPSHOT, NODE_SNAPSHOT, NODE_ENTRY = range(7)
G = 5


def log_segments():
    a = walfmt.Segment(G, 1, 1)
    a.hard_state(1, 0).hard_state(1, 2).add(walfmt.ENTRY_NOOP, 1, 1)
    for i in range(2, 8):
        a.entry(1, i, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (i, b"v" * i))
    b = walfmt.Segment(G, 2, 8, prev_term=1)
    b.hard_state(1, 2).hard_state(3, 0)
    b.entry(3, 5, b"replaces 5..7").entry(3, 6).add(walfmt.ENTRY_CONFIG, 3, 7, b"\x92\x01\x02")
    c = walfmt.Segment(G, 3, 8, prev_term=3)
    c.hard_state(3, 0).add(walfmt.SNAPSHOT_MARK, 3, 6).entry(3, 8, b"after the mark")
    return [a, b, c]


def raw_log(segs, named=True):
    n = len(segs)
    head = bytes([(n - 1) | (4 if named else 0)])
    for s in segs[:-1]:
        head += struct.pack("<H", len(s.data))
    return bytes([RAW_LOG]) + head + b"".join(bytes(s.data) for s in segs)


def mp(v):
    """The few msgpack forms the node's images and entries use."""
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str):
        b = v.encode()
        return bytes([0xa0 | len(b)]) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    raise TypeError(v)


def db_image(entries):
    """core/store/codec.h: header, then [key, type, deadline, encoding, value]."""
    return mp(["keel-db", 1, len(entries)]) + b"".join(mp(e) for e in entries)


def seeds():
    out = {}
    segs = log_segments()
    a = segs[0]
    whole = bytes(a.data)
    out["raw-segment-clean"] = bytes([RAW_SEGMENT]) + whole
    out["raw-segment-header-only"] = bytes([RAW_SEGMENT]) + whole[:56]
    out["raw-segment-torn-header"] = bytes([RAW_SEGMENT]) + whole[:30]
    out["raw-segment-torn-record"] = bytes([RAW_SEGMENT]) + whole[:-9]
    out["raw-segment-zero-tail"] = bytes([RAW_SEGMENT]) + whole + b"\0" * 64
    bad = bytearray(whole)
    bad[a.offsets[3] + 12] ^= 1
    out["raw-segment-corrupt-middle"] = bytes([RAW_SEGMENT]) + bytes(bad)
    gap = walfmt.Segment(G, 1, 1).hard_state(1, 0).entry(1, 1).entry(1, 3)
    out["raw-segment-index-gap"] = bytes([RAW_SEGMENT]) + bytes(gap.data)
    reg = walfmt.Segment(G, 1, 1).hard_state(2, 0).entry(2, 1).entry(1, 2).hard_state(1, 0)
    out["raw-segment-term-regression"] = bytes([RAW_SEGMENT]) + bytes(reg.data)
    big = walfmt.Segment(G, 1, 10, prev_term=2).hard_state(2, 1).entry(2, 10, bytes(range(256)) * 8)
    out["raw-segment-big-record"] = bytes([RAW_SEGMENT]) + bytes(big.data)
    out["raw-segment-marks"] = bytes([RAW_SEGMENT]) + bytes(
        walfmt.Segment(G, 1, 1).hard_state(4, 1).entry(1, 1).entry(2, 2).entry(2, 3)
        .add(walfmt.SNAPSHOT_MARK, 2, 2).add(walfmt.SNAPSHOT_MARK, 4, 100).entry(4, 101).data)

    out["raw-log-clean"] = raw_log(segs)
    out["raw-log-unnamed"] = raw_log(segs, named=False)
    torn = log_segments()
    torn[2].data = torn[2].data[:-5]
    out["raw-log-torn"] = raw_log(torn)
    swapped = log_segments()
    out["raw-log-out-of-order"] = raw_log([swapped[1], swapped[0], swapped[2]])
    fresh = walfmt.Segment(G, 3, 8, prev_term=3)  # just created: a header only
    out["raw-log-new-segment"] = raw_log(log_segments()[:2] + [fresh])
    fresh.data = fresh.data[:20]
    out["raw-log-torn-new-segment"] = raw_log(log_segments()[:2] + [fresh])

    snap = walfmt.snapshot(G, 1234, 5, b"\x93\x01\x02\x03", b"\x93\xa7keel-db\x01\x00")
    out["raw-snapshot-clean"] = bytes([RAW_SNAPSHOT]) + snap
    out["raw-snapshot-empty"] = bytes([RAW_SNAPSHOT]) + walfmt.snapshot(0, 1, 1, b"", b"")
    out["raw-snapshot-truncated"] = bytes([RAW_SNAPSHOT]) + snap[:-3]
    out["raw-snapshot-header-only"] = bytes([RAW_SNAPSHOT]) + snap[:56]

    # Built logs: seg size, salt seed, flip (u32), bit, cut (u32), then ops.
    def built(seg, salt, flip, bit, cut, ops):
        return bytes([BUILT_LOG, seg, salt]) + struct.pack("<IBI", flip, bit, cut) + bytes(ops)

    entries = [0, 5] * 12
    out["built-simple"] = built(10, 1, 100, 3, 400, [3, 0] + entries + [6])
    out["built-small-segments"] = built(0, 2, 777, 1, 90, [3, 2] + [0, 40, 1, 0, 2, 9] * 8)
    out["built-replacement"] = built(4, 3, 50, 7, 1000,
                                     [3, 0] + entries + [3, 2, 4, 3, 0, 1, 6, 4, 9] + entries)
    out["built-marks"] = built(8, 4, 3000, 0, 200,
                               [3, 0] + entries + [5, 4, 1, 0, 3, 5, 40, 0, 0, 7, 6])
    out["built-big-entries"] = built(2, 5, 12345, 5, 9999, [3, 0, 7, 200, 0, 1, 7, 255, 6, 0, 2])
    out["built-hard-states"] = built(20, 6, 9, 2, 77, [3, 0, 3, 3, 3, 1, 3, 6, 0, 1, 3, 9, 0, 2])
    out["built-invalid-ops"] = built(1, 7, 1, 1, 1, [0, 1, 5, 0, 0, 4, 0, 3, 0, 0, 1])

    out["built-snapshot"] = bytes([BUILT_SNAPSHOT]) + struct.pack("<II", 1000, 77) + bytes([4]) + \
        b"\x93\x01\x02\x03" + b"body" * 20
    out["built-snapshot-empty"] = bytes([BUILT_SNAPSHOT]) + struct.pack("<II", 3, 0) + bytes([0])

    # The node's snapshot body: per database, u32 id, u64 length, image.
    img0 = db_image([[b"k", 0, None, 0, b"hello"], [b"n", 0, 1900000000000, 1, b"42"]])
    img3 = db_image([[b"s", 0, None, 8, b"short"]])
    body = struct.pack("<IQ", 0, len(img0)) + img0 + struct.pack("<IQ", 3, len(img3)) + img3
    out["node-snapshot"] = bytes([NODE_SNAPSHOT]) + body
    out["node-snapshot-cut"] = bytes([NODE_SNAPSHOT]) + body[:-4]
    out["node-snapshot-empty"] = bytes([NODE_SNAPSHOT])
    # An entry: [time, data seed, [op...]]; op = [db, args...] or a transaction.
    entry = mp([1700000000000, 7, [[0, b"SET", b"k", b"v"],
                                   [0, [b"INCR", b"n"], [b"APPEND", b"s", b"x"]],
                                   [3, b"RPUSH", b"l", b"a", b"b"], [0, b"SPOP", b"set"]]])
    out["node-entry"] = bytes([NODE_ENTRY]) + entry
    out["node-entry-cut"] = bytes([NODE_ENTRY]) + entry[:-3]
    return out


def main():
    if not walfmt.available():
        sys.exit("gen_wal_corpus.py: libxxhash cannot be loaded (install libxxhash0)")
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
