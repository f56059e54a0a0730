#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_peer.c to fuzz/corpus/peer/.

A seed is a start byte and a list of operations (the layout is in
fuzz_peer.c's header comment): messages from peers, time, client commands
and the driver's calls. The peer messages are written here from the formats
in core/node/cluster.c's comments ("Forwarding", "The member directory"):
  [101, req, origin, db, 1, [arg...], mode, sid]       a forwarded command
  [101, req, origin, db, 2, [[arg...]...], mode, sid]  a transaction's queue
  [101, req, origin, db, 3, [[arg...]...], mode, sid]  pipelined commands
  [102, req, origin, reply, sid]                       the reply (RESP bytes)
  [103, origin]                                        the client is gone
  [110, from, term, leader, role, commit, applied, [addr...]]   HEALTH
  [111, from, addr]   JOIN      [112, from, addr]   JOIN passed on
  addr = [id, bus host, bus port, host, port, http port]
and Raft's with gen_raft_msg_corpus.py's encoder. A reply to what node 1
forwarded must carry its session id, a hash of node 1's run and connection:
the seeds use the harness's "answer the last forwarded request" operation
(answer()) for those, and the fuzzer may learn the hash from comparisons. Most seeds are what an
honest peer would send at that point (so they reach deep: a forwarded
command answered, a proposal committed, a snapshot installed), a few are
malformed on purpose. Rerun after editing:
    python3 fuzz/gen_peer_corpus.py
Files this script does not know (minimised crashes added by hand) are kept.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_raft_msg_corpus as R  # noqa: E402

OUT = os.path.join(HERE, "corpus", "peer")

# Byte 0: the start and options.
FOLLOWER, LEADER, FOLLOWS_2, JOINER = 0, 1, 2, 3
FWD, LEASE, SNAP, DIR, NO_CQ, NO_PREVOTE = 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

# fuzz_peer.c's CMDS, by index.
GET, SET, NODES, INFO, INCR, MULTI_INCR, READONLY_GET, READWRITE, BLPOP, LPUSH = range(10)
(FAILOVER, FAILOVER_TO_2, FORGET_3, LEASE_GET, MYID, DEL, PING, INFO_CLUSTER, SELECT_SET,
 FORGET_2, MULTI_GET, EXPIRE, FORGET_4, GET_C) = range(10, 24)

# Roles as HEALTH carries them (rf_role).
R_FOLLOWER, R_PRECANDIDATE, R_CANDIDATE, R_LEADER = 1, 2, 3, 4


# --- msgpack, as msgpack-c's packer writes it -------------------------------

def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return R.uint(v) if v >= 0 else R.sint(v)
    if isinstance(v, bytes):
        return R.binary(v)
    if isinstance(v, str):
        b = v.encode()
        n = len(b)
        if n < 32:
            return bytes([0xa0 | n]) + b
        if n < 0x100:
            return b"\xd9" + bytes([n]) + b
        return b"\xda" + struct.pack(">H", n) + b
    if isinstance(v, (list, tuple)):
        return R.array([pack(x) for x in v])
    raise TypeError(v)


def addr(id, host="10.0.0.%d", bus_port=None, port=None, http=-1):
    h = host % id if "%d" in host else host
    return [id, h, 7100 + id if bus_port is None else bus_port, h,
            7000 + id if port is None else port, http]


def health(frm, term=1, leader=2, role=R_LEADER, commit=1, applied=1, addrs=()):
    return pack([110, frm, term, leader, role, commit, applied, list(addrs)])


def join(frm, a):
    return pack([111, frm, a])


def relay(frm, a):
    return pack([112, frm, a])


def args(a):
    return [x.encode() if isinstance(x, str) else x for x in a]


def kv_req(req, origin, a, db=0, consistency=0, sid=None):
    m = [101, req, origin, db, 1, args(a), consistency]
    return pack(m + ([] if sid is None else [sid]))


def kv_exec(req, origin, cmds, db=0, sid=None):
    m = [101, req, origin, db, 2, [args(c) for c in cmds], 0]
    return pack(m + ([] if sid is None else [sid]))


def kv_pipeline(req, origin, cmds, db=0, sid=None):
    m = [101, req, origin, db, 3, [args(c) for c in cmds], 0]
    return pack(m + ([] if sid is None else [sid]))


def kv_rep(req, origin, reply, sid=0):
    return pack([102, req, origin, reply, sid])


def kv_close(origin):
    return pack([103, origin])


# --- operations --------------------------------------------------------------

def frame(b):
    return struct.pack(">H", len(b)) + b


def peer(b, frm=2, ack=True):
    assert frm in (2, 3)
    return bytes([(1 if frm == 3 else 0) | (2 if ack else 0)]) + frame(b)


def stranger(b, frm=4):
    assert 4 <= frm <= 7
    return bytes([0xe0 | (frm - 4)]) + frame(b)


def tick(ms=5):
    out = b""
    while ms > 0:
        step = min(ms, 160)
        out += bytes([0x80 | (max(step // 5, 1) - 1)])
        ms -= step
    return out


def client(cmd, slot=0):
    return bytes([0xa0 | slot, cmd])


def close(slot=0):
    return bytes([0xc0 | slot])


def answer(reply):
    """The leader answers the last request node 1 forwarded (its numbers)."""
    return b"\xc8" + frame(reply)


def link(frm, up):
    return bytes([0xc4 | (1 if frm == 3 else 0) | (2 if up else 0)])


ACK, FAIL_SNAPSHOT, FAIL_LOG = b"\xd0", b"\xde", b"\xdf"


def admin(i):
    return bytes([0xf0 | i])


ADD_LEARNER_4, PROMOTE_4, REMOVE_3, REMOVE_4, TRANSFER_2, TRANSFER_3, HEALTH, JOIN, \
    DIR_SET_2, JUMP_61S = range(10)


def seed(mode, *ops):
    return bytes([mode]) + b"".join(ops)


# --- Raft messages (to node 1) ----------------------------------------------

def append(frm=2, term=1, prev_index=1, prev_term=1, commit=0, entries=(), ctx=0):
    return R.msg(R.APPEND, frm, 1, term=term, prev_index=prev_index, prev_term=prev_term,
                 commit=commit, entries=entries, ctx=ctx)


def append_resp(frm=2, term=1, index=2, reject=False, hint_index=0, hint_term=0, ctx=0):
    return R.msg(R.APPEND_RESP, frm, 1, term=term, index=index, reject=reject,
                 hint_index=hint_index, hint_term=hint_term, ctx=ctx)


def heartbeat(frm=2, term=1, commit=1, ctx=0):
    return R.msg(R.HEARTBEAT, frm, 1, term=term, commit=commit, ctx=ctx)


def heartbeat_resp(frm=2, term=1, ctx=1):
    return R.msg(R.HEARTBEAT_RESP, frm, 1, term=term, ctx=ctx)


def snapshot(frm=2, term=1, index=10, snap_term=1, voters=(1, 2, 3), learners=(), offset=0,
             total=0, data=b"", done=True):
    return R.msg(R.SNAPSHOT, frm, 1, term=term, snap_index=index, snap_term=snap_term,
                 voters=list(voters), learners=list(learners), offset=offset, total=total,
                 data=data, done=done)


# A NORMAL entry's payload is replaced by the harness (fuzz_peer.c's
# PAYLOADS, by its first byte): 1 SET k v, 2 INCR c, 4 LPUSH l x, 10 INCR c
# in a session (peer 2, origin 1, seq 1), 11 a transaction.
def normal(index, term, which):
    return (index, term, R.NORMAL, bytes([which]))


def seeds():
    s = {}
    # Each start, nothing else: the boot paths.
    for name, mode in (("boot-follower", FOLLOWER), ("boot-leader", LEADER),
                       ("boot-follows-2", FOLLOWS_2), ("boot-joiner", JOINER),
                       ("boot-leader-nocq-noprevote", LEADER | NO_CQ | NO_PREVOTE)):
        s[name] = seed(mode)

    # --- forwarding: a follower's client, the leader's answer -------------
    s["kv-get-forwarded-and-answered"] = seed(
        FOLLOWS_2 | FWD, client(GET), answer(b"$1\r\nv\r\n"), tick(5))
    s["kv-set-forwarded-and-answered"] = seed(
        FOLLOWS_2 | FWD | DIR, client(SET, 1), answer(b"+OK\r\n"),
        client(GET, 1), answer(b"$1\r\nv\r\n"), close(1))
    s["kv-pipeline-forwarded-and-answered"] = seed(
        FOLLOWS_2 | FWD, client(SET), client(GET), client(INCR), answer(b"+OK\r\n"),
        answer(b"$1\r\nv\r\n:1\r\n"), answer(b"+OK\r\n"))
    s["kv-reply-times-out"] = seed(FOLLOWS_2 | FWD, client(INCR), tick(400),
                                   answer(b":1\r\n"))
    s["kv-reply-wrong-session"] = seed(FOLLOWS_2 | FWD, client(GET),
                                       peer(kv_rep(1, 1, b"$1\r\nx\r\n", sid=12345)),
                                       peer(kv_rep(1, 1, b"$1\r\nx\r\n")[:-1] + b"\xcf" +
                                            b"\xff" * 8),
                                       answer(b"$-1\r\n"))
    s["kv-multi-forwarded"] = seed(FOLLOWS_2 | FWD, client(MULTI_INCR),
                                   answer(b"*1\r\n:1\r\n"))
    s["kv-blpop-forwarded-leader-changes"] = seed(
        FOLLOWS_2 | FWD, client(BLPOP), tick(20), peer(heartbeat(3, term=2, commit=1), 3),
        tick(20), answer(b"*-1\r\n"))
    s["kv-no-leader-then-leader"] = seed(FOLLOWER | FWD, client(SET), tick(20),
                                         peer(heartbeat(2, term=1, commit=0)), tick(10),
                                         answer(b"+OK\r\n"))
    # The leader runs a follower's client's commands on a proxy.
    s["kv-request-set-committed"] = seed(
        LEADER | FWD, peer(kv_req(1, 7, ["SET", "k", "v"], sid=77)), ACK,
        peer(append_resp(2, term=1, index=2)), tick(5),
        peer(kv_req(1, 7, ["SET", "k", "v"], sid=77)), peer(kv_close(7)))
    s["kv-request-get-read-index"] = seed(
        LEADER | FWD, peer(kv_req(1, 7, ["GET", "k"])), tick(10),
        peer(heartbeat_resp(2, term=1, ctx=1)), peer(heartbeat_resp(2, term=1, ctx=2)),
        peer(kv_req(2, 7, ["GET", "k"], consistency=2), 3))
    s["kv-request-exec"] = seed(
        LEADER | FWD, peer(kv_exec(1, 9, [["SET", "k", "1"], ["INCR", "k"]], sid=9)),
        peer(append_resp(2, term=1, index=2)), tick(5))
    s["kv-request-pipeline"] = seed(
        LEADER | FWD, peer(kv_pipeline(1, 4, [["SET", "k", "1"], ["INCR", "k"], ["GET", "k"]],
                                       sid=4)),
        ACK, peer(append_resp(2, term=1, index=2)), tick(10),
        peer(heartbeat_resp(2, term=1, ctx=1)), peer(heartbeat_resp(2, term=1, ctx=2)),
        peer(kv_pipeline(1, 4, [["SET", "k", "1"], ["INCR", "k"], ["GET", "k"]], sid=4)),
        peer(kv_pipeline(2, 4, [["INCR", "k"]] * 65, sid=4)))
    # (A proxy's BLPOP served by an LPUSH: regress-ubsan-session-done-null-reply.)
    s["kv-request-blpop-times-out"] = seed(
        LEADER | FWD, peer(kv_req(1, 5, ["BLPOP", "l", "0.05"])), tick(100),
        peer(kv_req(2, 5, ["LPUSH", "l", "x"])), tick(10), peer(kv_close(5)))
    s["kv-request-failover-to-3"] = seed(
        LEADER | FWD, peer(append_resp(3, term=1, index=1), 3),
        peer(kv_req(1, 2, ["CLUSTER", "FAILOVER", "TO", "3"]), 3), tick(10))
    s["kv-request-db-and-proxy-gc"] = seed(
        LEADER | FWD, peer(kv_req(1, 3, ["SELECT", "1"], db=1)),
        peer(kv_req(2, 3, ["SET", "k", "v"], db=15)), admin(JUMP_61S), tick(5))
    s["kv-close-unknown"] = seed(LEADER | FWD, peer(kv_close(42)), peer(kv_close(0), 3))
    s["kv-client-closes-while-forwarded"] = seed(FOLLOWS_2 | FWD, client(GET, 2), close(2),
                                                 answer(b"$-1\r\n"))

    # --- the member directory ----------------------------------------------
    s["health-members"] = seed(
        FOLLOWS_2, peer(health(2, addrs=[addr(1, "6.6.6.6"), addr(2), addr(3), addr(9)])),
        peer(health(3, leader=2, role=R_FOLLOWER,
                    addrs=[addr(3, "10.9.9.9"), addr(2, "7.7.7.7")]), 3),
        client(NODES), admin(HEALTH))
    s["health-joiner-learns-everyone"] = seed(
        JOINER | DIR, peer(health(2, addrs=[addr(i) for i in range(1, 41)])),
        stranger(health(5, addrs=[addr(5), addr(6)]), 5), admin(JOIN), client(NODES))
    s["health-dir-full"] = seed(
        JOINER, peer(health(2, addrs=[addr(i) for i in range(2, 34)])),
        peer(health(3, addrs=[addr(i) for i in range(100, 140)]), 3), admin(JUMP_61S),
        peer(heartbeat(2, term=1, commit=0)), tick(5))
    s["health-links-and-nodes"] = seed(
        FOLLOWS_2 | DIR, link(2, True), link(3, True), peer(health(2, addrs=[addr(2)])),
        client(NODES), link(3, False), client(INFO), client(MYID), admin(DIR_SET_2))
    s["join-stranger-to-leader"] = seed(
        LEADER | DIR, stranger(join(4, addr(4))), tick(5),
        peer(append_resp(2, term=1, index=2)), tick(10), stranger(join(4, addr(4))),
        admin(PROMOTE_4), client(NODES), tick(200))
    s["join-to-follower-is-relayed"] = seed(FOLLOWS_2, stranger(join(4, addr(4))), tick(5),
                                            stranger(join(5, addr(5)), 5))
    s["relay-from-member"] = seed(LEADER, peer(relay(2, addr(6))), tick(5),
                                  peer(append_resp(2, term=1, index=2)),
                                  peer(relay(3, addr(3)), 3))
    s["join-voter-lost-its-disk"] = seed(LEADER, peer(join(3, addr(3)), 3), tick(5),
                                         peer(append_resp(2, term=1, index=2)), tick(10))
    s["join-joiner-pruned-later"] = seed(LEADER | DIR, stranger(join(7, addr(7)), 7),
                                         admin(JUMP_61S), admin(JUMP_61S), client(NODES))

    # --- Raft ----------------------------------------------------------------
    s["raft-heartbeat"] = seed(FOLLOWER, peer(heartbeat(2, term=1, commit=0)), tick(5),
                               peer(heartbeat(2, term=1, commit=5, ctx=3)))
    s["raft-append-entries"] = seed(
        FOLLOWS_2 | SNAP,
        peer(append(2, term=1, prev_index=1, prev_term=1, commit=3,
                    entries=[normal(2, 1, 1), normal(3, 1, 2), normal(4, 1, 4)])),
        peer(append(2, term=1, prev_index=4, prev_term=1, commit=6,
                    entries=[normal(5, 1, 11), normal(6, 1, 10), normal(7, 1, 10)])),
        peer(heartbeat(2, term=1, commit=7)), client(READONLY_GET), client(GET_C, 1))
    s["raft-append-conflict"] = seed(
        FOLLOWS_2,
        peer(append(2, term=1, prev_index=1, prev_term=1, entries=[normal(2, 1, 1),
                                                                   normal(3, 1, 2)])),
        peer(append(3, term=2, prev_index=1, prev_term=1, commit=2,
                    entries=[(2, 2, R.NOOP, b""), (3, 2, R.CONFIG, b"\x92\x92\x01\x02\x90")]), 3),
        tick(5))
    s["raft-append-resp-commits"] = seed(
        LEADER, client(SET), client(INCR, 1), ACK, peer(append_resp(2, term=1, index=3)),
        peer(append_resp(3, term=1, reject=True, index=3, hint_index=1, hint_term=1), 3),
        client(GET), tick(10), peer(heartbeat_resp(2, term=1, ctx=1)))
    s["raft-lease-read"] = seed(
        LEADER | LEASE, client(GET), peer(heartbeat_resp(2, term=1, ctx=1)), tick(10),
        peer(heartbeat_resp(2, term=1, ctx=2)), client(LEASE_GET, 1))
    s["raft-leader-deposed"] = seed(
        LEADER, client(SET), client(BLPOP, 1), peer(append(3, term=5, prev_index=0,
                                                           prev_term=0, commit=0), 3),
        tick(5), client(GET, 2))
    s["raft-vote-requests"] = seed(
        FOLLOWER, tick(20), peer(R.msg(R.PREVOTE, 3, 1, term=1, last_index=5, last_term=1), 3),
        peer(R.msg(R.VOTE, 3, 1, term=2, last_index=5, last_term=1), 3), tick(300),
        peer(R.msg(R.PREVOTE_RESP, 2, 1, term=3)), peer(R.msg(R.VOTE_RESP, 2, 1, term=3)))
    s["raft-timeout-now"] = seed(FOLLOWS_2, peer(R.msg(R.TIMEOUT_NOW, 2, 1, term=1)), tick(5),
                                 peer(R.msg(R.VOTE_RESP, 3, 1, term=2), 3))
    s["raft-snapshot-install"] = seed(
        FOLLOWS_2 | SNAP, peer(snapshot(2, term=1, index=10, snap_term=1), ack=False),
        peer(heartbeat(2, term=1, commit=10)), ACK, client(READONLY_GET), client(NODES, 1))
    s["raft-snapshot-membership"] = seed(
        JOINER | DIR, peer(snapshot(2, term=3, index=20, snap_term=2, voters=(2, 3),
                                    learners=(1,))),
        peer(append(2, term=3, prev_index=20, prev_term=2, commit=21,
                    entries=[normal(21, 3, 1)])), tick(5), admin(HEALTH), client(NODES))
    s["raft-snapshot-chunks"] = seed(
        FOLLOWS_2, peer(snapshot(2, index=30, offset=0, total=1000, data=b"\x00" * 400,
                                 done=False)),
        peer(snapshot(2, index=30, offset=400, total=1000, data=b"\x01" * 600, done=True)),
        peer(snapshot(2, index=30, offset=900, total=1000, data=b"\x02" * 100)))
    s["raft-snapshot-save-fails"] = seed(
        FOLLOWS_2, peer(snapshot(2, index=10), ack=False), FAIL_SNAPSHOT, tick(5))
    s["raft-leader-sends-snapshot"] = seed(
        LEADER | SNAP, client(SET), client(INCR, 1), client(LPUSH, 2), ACK,
        peer(append_resp(2, term=1, index=4)), ACK,
        peer(append_resp(3, term=1, reject=True, index=0, hint_index=1, hint_term=0), 3),
        tick(10), peer(R.msg(R.SNAPSHOT_RESP, 3, 1, term=1, offset=512, snap_index=4), 3))
    s["raft-log-write-fails"] = seed(LEADER, client(SET), FAIL_LOG,
                                     peer(append_resp(2, term=1, index=2)), client(GET, 1))
    s["raft-membership-ops"] = seed(
        LEADER, admin(ADD_LEARNER_4), ACK, peer(append_resp(2, term=1, index=2)),
        admin(PROMOTE_4), admin(REMOVE_3), admin(TRANSFER_2),
        peer(append_resp(2, term=1, index=2)), admin(TRANSFER_3), client(FORGET_4),
        client(FAILOVER_TO_2, 1))
    s["cluster-commands-follower"] = seed(
        FOLLOWS_2 | DIR, client(INFO), client(NODES, 1), client(FAILOVER, 2), client(FORGET_3),
        client(MYID, 1), client(INFO_CLUSTER, 2), client(SELECT_SET), client(MULTI_GET, 1),
        client(EXPIRE, 2), client(DEL), client(READWRITE, 1), client(PING, 3))

    # --- malformed -------------------------------------------------------------
    s["bad-kv-truncated"] = seed(LEADER | FWD, peer(kv_req(1, 7, ["SET", "k", "v"])[:-3]))
    s["bad-kv-wrong-types"] = seed(
        LEADER | FWD, peer(pack([101, "x", 7, 0, 1, ["SET"], 0])),
        peer(pack([101, 1, 7, 99, 1, [b"GET", b"k"]])),
        peer(pack([101, 1, 7, 0, 3, [b"GET", b"k"]])),
        peer(pack([101, 1, 7, 0, 1, [b"GET", b"k"], 9])),
        peer(pack([101, 1, 7, 0, 1, [], 0])),
        peer(pack([101, 1, 7, 0, 2, [[b"SET", 1], "x"], 0])),
        peer(pack([101, 1, 7, 0, 1, [b"GET", b"k"], 0, "sid"])),
        peer(pack([101, 1, 7, 0, 3, [[b"GET", b"k"], [b"SET"], "x"], 0, 1])),
        peer(pack([102, 1, 1])), peer(pack([102, 1, 1, b"+OK\r\n", "x"])),
        peer(pack([103])), peer(pack([103, "x"])),
        peer(pack([101, 1, 7, 0, 1, ["GET", "k"], 0]) + b"\x00"))
    s["bad-cluster-msgs"] = seed(
        FOLLOWS_2,
        peer(pack([110, 2, 1, 2, 4, 1, 1, None])),
        peer(pack([110, 3, 1, 2, 4, 1, 1, [addr(3)]])),  # sender is not the peer
        peer(pack([110, 2, 1, 2, 4, 1, 1, [
            [0, "h", 1, "h", 1, -1], [2, "x" * 64, 1, "h", 1, -1], [2, "a\x00b", 1, "h", 1, -1],
            [2, "h", 70000, "h", 1, -1], [2, "h", -1, "h", 1, -1], [2, "h", 1, "h", 1, -2],
            [2, b"h", 1, "h", 1, -1], [2, "h", 1, "h", 1]]])),
        peer(pack([111, 2, addr(3)])),  # a JOIN must speak for its sender
        stranger(pack([112, 4, addr(4)])),  # a relay from a non-member
        peer(pack([111, 2])), peer(pack([112, 2, addr(1, "6.6.6.6")])),
        peer(bytes([0x93, 110, 1, 0xc0])), peer(bytes([0x93, 111, 1, 0x96, 2, 0xa1, ord("x"), 1])))
    s["bad-raft-garbage"] = seed(
        FOLLOWS_2, peer(b""), peer(b"\x00"), peer(b"\x9f\x01"), peer(heartbeat()[:-2]),
        peer(heartbeat() + b"\x00"), peer(R.msg(99)), peer(bytes(range(256))))
    s["bad-raft-wrong-addressee"] = seed(
        FOLLOWS_2, peer(R.msg(R.HEARTBEAT, 2, 5, term=9, commit=1)),
        peer(R.msg(R.HEARTBEAT, 1, 1, term=9, commit=1)),
        peer(R.msg(R.APPEND, 3, 1, term=1, prev_index=1, prev_term=1, commit=2,
                   entries=[normal(2, 1, 1)]), 3))
    s["bad-raft-extremes"] = seed(
        FOLLOWS_2, peer(append(2, term=1, prev_index=2**64 - 2, prev_term=1, commit=2**64 - 1,
                               entries=[normal(2**64 - 1, 1, 1)])),
        peer(heartbeat(2, term=1, commit=2**64 - 1)),
        peer(append_resp(2, term=1, index=2**64 - 1)),
        peer(snapshot(2, index=2**64 - 1, snap_term=2**64 - 1, total=2**64 - 1, done=False)))
    s["bad-raft-append-term-goes-back"] = seed(
        FOLLOWS_2, peer(append(2, term=3, prev_index=1, prev_term=1, commit=3,
                               entries=[normal(2, 3, 1), normal(3, 2, 2)])), tick(5))
    s["bad-framing"] = seed(LEADER | FWD, b"\x00\xff\xff" + kv_close(1))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    s = seeds()
    for name, data in sorted(s.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(s), OUT))


if __name__ == "__main__":
    main()
