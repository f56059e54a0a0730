"""keel's WAL segment and snapshot file formats, written from Python.

A second implementation of docs/decisions/0006-wal-format.md, independent of
core/wal, so the tests that use it check the C code against the written
format and not against itself. XXH3-64 comes from the system's libxxhash
(the library keel links) through ctypes; `available()` says whether it
loaded. Used by tests/integration/test_check_wal.py and
fuzz/gen_wal_corpus.py.
"""
import ctypes
import ctypes.util
import struct

ENTRY_NORMAL = 1
ENTRY_NOOP = 2
ENTRY_CONFIG = 3
HARD_STATE = 4
SNAPSHOT_MARK = 5

SEG_MAGIC = b"keel-wal"
SNAP_MAGIC = b"keelsnap"
VERSION = 1
SEG_HEADER = 56
REC_HEADER = 28
REC_MIN = 36
SNAP_HEADER = 56

_xxh3 = None


def _load():
    global _xxh3
    if _xxh3 is not None:
        return _xxh3
    for name in ("libxxhash.so.0", ctypes.util.find_library("xxhash")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            f = lib.XXH3_64bits_withSeed
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_uint64
        f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
        _xxh3 = f
        return f
    return None


def available():
    return _load() is not None


def xxh3(data, seed=0):
    f = _load()
    if f is None:
        raise RuntimeError("libxxhash is not available")
    return f(bytes(data), len(data), seed & 0xFFFFFFFFFFFFFFFF)


def segment_name(seq, first_index):
    return "%020d-%020d.wal" % (seq, first_index)


SEG_MARK = 1  # segment flag: begins with a SNAPSHOT_MARK at first_index - 1


def segment_header(group, seq, first_index, prev_term, salt, flags=0):
    body = SEG_MAGIC + struct.pack("<HHIQQQQ", VERSION, flags, group, seq, first_index,
                                   prev_term, salt)
    return body + struct.pack("<Q", xxh3(body))


def record(offset, salt, rtype, group, term, index, payload=b""):
    """The bytes of one record that will lie at `offset` of a segment whose
    header has `salt` (for HARD_STATE, `index` is the vote)."""
    total = REC_MIN + len(payload)
    head = struct.pack("<IBBHIQQ", total, rtype, 0, 0, group, term, index) + payload
    return head + struct.pack("<Q", xxh3(head, salt ^ offset))


class Segment:
    """One segment built record by record."""

    def __init__(self, group, seq, first_index, prev_term=0, salt=None, flags=0):
        self.group = group
        self.seq = seq
        self.first_index = first_index
        self.salt = salt if salt is not None else 0x9E3779B97F4A7C15 ^ (seq * 1000003)
        self.data = bytearray(segment_header(group, seq, first_index, prev_term, self.salt,
                                             flags))
        self.offsets = []  # where each record starts

    @property
    def name(self):
        return segment_name(self.seq, self.first_index)

    def add(self, rtype, term, index, payload=b""):
        self.offsets.append(len(self.data))
        self.data += record(len(self.data), self.salt, rtype, self.group, term, index, payload)
        return self

    def entry(self, term, index, payload=b""):
        return self.add(ENTRY_NORMAL, term, index, payload)

    def hard_state(self, term, vote):
        return self.add(HARD_STATE, term, vote)


def snapshot(group, index, term, config, body):
    head = SNAP_MAGIC + struct.pack("<IIQQIIQ", VERSION, group, index, term, len(config), 0,
                                    len(body))
    head += struct.pack("<Q", xxh3(head))
    data = head + config + body
    return data + struct.pack("<Q", xxh3(data))
