/* io/server: libuv runtime for one node. See server.h. */
#define _GNU_SOURCE
#include "io/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>
#include <uv.h>
#include <xxhash.h>

#include "core/cmd/config.h"
#include "core/cmd/info.h"
#include "core/util/lathist.h"
#include "io/bus.h"
#include "io/config.h"
#include "io/http.h"
#include "io/log.h"
#include "io/persist.h"

#include <malloc.h>
#include <sys/resource.h>

#define READ_CHUNK (16 * 1024)
/* On SIGTERM/SIGINT/SHUTDOWN, clients get this long to take their replies;
 * then the rest are closed (one that never reads must not hold the exit). */
#define SHUTDOWN_DRAIN_MS 2000

typedef struct io_server io_server;

typedef struct io_conn {
    uv_tcp_t tcp;
    io_server *srv;
    conn_id id;
    uv_write_t wreq;
    kbuf inflight;      /* bytes handed to uv_write */
    size_t inflight_off;
    bool writing;
    bool close_after;   /* ACT_CLOSE seen: close once output is flushed */
    bool closing;       /* uv_close called */
    bool reading;
    struct io_conn *next_all;
    struct io_conn *prev_all;
} io_conn;

struct io_server {
    uv_loop_t loop;
    uv_tcp_t listeners[16];
    int nlisteners;
    uv_timer_t tick;
    uv_timer_t deadline;   /* the node's next deadline (blocked clients' timeouts) */
    /* Replies produced while reading are written once per loop turn, after
     * every readable socket was served (as Redis's beforeSleep): clients
     * then get their replies in one burst instead of one wake-up each. */
    uv_check_t flush_check;
    /* Busy polling (busy-poll-us): after a loop turn that read client
     * input, the loop polls (epoll_wait with no timeout) until busy_until
     * instead of sleeping, so a client's next request finds it awake. */
    uv_idle_t busy_poll;
    uint64_t busy_until; /* uv_hrtime() */
    bool in_read;
    conn_id *to_flush;
    size_t nto_flush, capto_flush;
    int64_t armed_deadline; /* what it is set for, -1: stopped */
    uv_signal_t sigint, sigterm;
    node n;
    io_server_opts opts;
    io_conn *conns;
    int signals;
    bool shutting_down;
    int64_t drain_deadline_ms; /* shutting down: close what is left then */
    bool handles_closed;
    http_server *http;
    int bound_port;
    int http_bound_port;
    info_provider info;
    /* The runtime's CONFIG parameters (config_register). */
    struct rt_config {
        long long maxclients;
        long long timeout_s;
        long long tcp_keepalive_s;
        long long busy_poll_us;
        long long port;
        long long http_port;
        long long query_max;
        int loglevel;
        bool protected_mode;
        bool aof_use_rdb_preamble;
    } rt;
    int exit_code;
    /* Durability: the writer of group 0's log, snapshots. */
    persist_writer *writer;
    bool log_failed_logged;
    bool bgsave_scheduled;
    bool last_bgsave_ok;
    int64_t bgsave_started_ms, last_bgsave_secs;
    uint64_t dirty_at_fork;
    uint64_t log_bytes_at_fork; /* the log's bytes when the snapshot's state was taken */
    uint64_t snapshots_done;
    double recovery_secs;
    persist_recovered recovered;
    /* Cluster mode: the bus to the peers. */
    bus *bus;
    int bus_port;
    rf_role raft_role; /* for the log line when it changes */
    rf_id raft_leader;
    uint64_t raft_changes;
    uint64_t dir_synced;           /* node_dir_version last acted on */
    rf_id dir_ids[64];             /* the directory's ids then (their bus peers) */
    size_t ndir_ids;
    int64_t last_health_ms;
    char join_ip[64];              /* --join's host, resolved */
    bool snap_saved_pending, snap_saved_ok;
    uint64_t snap_saved_index;
    char snap_saved_err[256];
};

static bool cluster_mode(const io_server *s) { return s->opts.node_id != 0; }

static void process_actions(io_server *s);

/* ------------------------------------------------------------------------ */
/* The cluster bus */

static void on_bus_recv(void *ctx, uint64_t from, uint8_t service, const void *data, size_t len)
{
    io_server *s = ctx;
    if (s->handles_closed)
        return;
    (void)service; /* the core tells its messages apart by their first bytes */
    node_event ev = {.type = EV_PEER_DATA, .now_ms = io_wall_ms(), .peer = from, .data = data,
                     .len = len};
    node_step(&s->n, &ev);
    process_actions(s);
}

/* The cluster service's messages to these peers: this node's HEALTH, and
 * its JOIN while it is not a member. Encoded once for them all. */
static void send_cluster_msgs(io_server *s, const uint64_t *peers, size_t npeers)
{
    kbuf h = KBUF_INIT, j = KBUF_INIT;
    bool health = node_cluster_health(&s->n, &h), join = node_cluster_join(&s->n, &j);
    for (size_t i = 0; i < npeers; i++) {
        if (health)
            bus_send(s->bus, peers[i], BUS_SVC_CLUSTER, h.data, h.len);
        if (join)
            bus_send(s->bus, peers[i], BUS_SVC_CLUSTER, j.data, j.len);
    }
    kbuf_free(&h);
    kbuf_free(&j);
}

static void on_bus_peer(void *ctx, uint64_t peer, bool up)
{
    io_server *s = ctx;
    log_msg(up ? LOG_NOTICE : LOG_WARNING, up ? "cluster peer connected" : "cluster peer lost",
            "peer=%llu", (unsigned long long)peer);
    node_dir_link(&s->n, peer, up);
    if (up && !s->handles_closed)
        send_cluster_msgs(s, &peer, 1);
}

/* The member directory (node.h) saved in the data directory, so that a
 * restarted node finds the members that joined after it was set up. One
 * line per node: id bus-host bus-port host port http-port. */
#define DIR_FILE "cluster-nodes.conf"

static void dir_save(io_server *s)
{
    node_addr a[64];
    size_t n = node_dir_list(&s->n, a, 64);
    FILE *f = fopen(DIR_FILE ".tmp", "w");
    if (f == NULL) {
        log_msg(LOG_WARNING, "cannot save the member directory", "error=\"%s\"", strerror(errno));
        return;
    }
    fprintf(f, "# keel member directory: id bus-host bus-port host port http-port (written by keel)\n");
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(f, "%llu %s %d %s %d %d\n", (unsigned long long)a[i].id, a[i].bus_host,
                a[i].bus_port, a[i].host[0] ? a[i].host : "-", a[i].port, a[i].http_port);
    bool ok = fflush(f) == 0 && fdatasync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(DIR_FILE ".tmp", DIR_FILE) != 0)
        log_msg(LOG_WARNING, "cannot save the member directory", "error=\"%s\"", strerror(errno));
}

static void dir_load(io_server *s)
{
    FILE *f = fopen(DIR_FILE, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        node_addr a;
        memset(&a, 0, sizeof(a));
        unsigned long long id;
        if (line[0] == '#' ||
            sscanf(line, "%llu %63s %d %63s %d %d", &id, a.bus_host, &a.bus_port, a.host, &a.port,
                   &a.http_port) != 6 || id == 0 || id == s->opts.node_id)
            continue;
        a.id = id;
        if (strcmp(a.host, "-") == 0)
            a.host[0] = '\0';
        if (node_dir_get(&s->n, a.id) == NULL)
            node_dir_set(&s->n, &a);
    }
    fclose(f);
}

/* The bus follows the directory: a peer for every node in it, none for
 * those it forgot. Saved when it changed. */
static void dir_sync(io_server *s)
{
    if (s->bus == NULL || node_dir_version(&s->n) == s->dir_synced)
        return;
    s->dir_synced = node_dir_version(&s->n);
    node_addr a[64];
    size_t n = node_dir_list(&s->n, a, 64);
    if (n > 64)
        n = 64;
    for (size_t i = 0; i < s->ndir_ids; i++) {
        bool kept = false;
        for (size_t j = 0; j < n; j++)
            kept |= a[j].id == s->dir_ids[i];
        if (!kept) {
            log_msg(LOG_NOTICE, "cluster peer forgotten", "peer=%llu",
                    (unsigned long long)s->dir_ids[i]);
            bus_remove_peer(s->bus, s->dir_ids[i]);
        }
    }
    s->ndir_ids = 0;
    for (size_t j = 0; j < n; j++) {
        s->dir_ids[s->ndir_ids++] = a[j].id;
        if (a[j].id != s->opts.node_id && a[j].bus_host[0])
            bus_add_peer(s->bus, a[j].id, a[j].bus_host, a[j].bus_port);
        /* A peer may have connected before the directory knew it. */
        node_dir_link(&s->n, a[j].id, bus_connected(s->bus, a[j].id));
    }
    dir_save(s);
}

/* Every second: HEALTH to every connected peer (and JOIN while joining);
 * a joining node that reaches nobody dials --join again. */
static void cluster_tick(io_server *s, int64_t now)
{
    if (s->bus == NULL || now - s->last_health_ms < 1000)
        return;
    s->last_health_ms = now;
    bus_peer_stats st[64];
    uint64_t up[64];
    size_t n = bus_stats(s->bus, st, 64), nup = 0;
    for (size_t i = 0; i < n && i < 64; i++)
        if (st[i].connected)
            up[nup++] = st[i].id;
    send_cluster_msgs(s, up, nup);
    if (node_cluster_joining(&s->n) && nup == 0 && s->join_ip[0]) {
        int r = bus_dial_any(s->bus, s->join_ip, s->opts.join_port);
        if (r != 0)
            log_msg(LOG_WARNING, "cannot dial the node to join through", "addr=%s:%d error=\"%s\"",
                    s->join_ip, s->opts.join_port, uv_strerror(r));
    }
}

/* The bus host this node announces and listens on. */
static const char *bus_host(const io_server *s)
{
    const io_server_opts *o = &s->opts;
    for (int i = 0; i < o->npeers; i++)
        if (o->peers[i].id == o->node_id)
            return o->peers[i].host;
    return o->announce_ip ? o->announce_ip : o->bind[0];
}

/* Listens on this node's bus address and knows every founding peer's. */
static bool start_bus(io_server *s, uint64_t seed)
{
    const io_server_opts *o = &s->opts;
    int self = -1;
    for (int i = 0; i < o->npeers; i++)
        if (o->peers[i].id == o->node_id)
            self = i;
    /* A node that joined before finds its peers in the directory it saved. */
    if (self < 0 && o->join_host == NULL && access(DIR_FILE, R_OK) != 0) {
        fprintf(stderr,
                "keel: --node-id %llu is not in --cluster-peers (and no --join host:port, "
                "and no " DIR_FILE " in the data directory)\n",
                (unsigned long long)o->node_id);
        return false;
    }
    if (o->join_host) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        int r = getaddrinfo(o->join_host, NULL, &hints, &res);
        if (r != 0 || res == NULL) {
            fprintf(stderr, "keel: --join %s: %s\n", o->join_host, gai_strerror(r));
            return false;
        }
        if (res->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, s->join_ip,
                      sizeof(s->join_ip));
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, s->join_ip,
                      sizeof(s->join_ip));
        freeaddrinfo(res);
    }
    bus_opts bo;
    bus_opts_default(&bo);
    bo.self_id = o->node_id;
    bo.cluster_id = o->cluster_id;
    bo.secret = o->cluster_secret;
    bo.seed = seed ^ 0x627573ULL;
    bo.accept_unknown = true; /* nodes joining through this one */
    s->bus = bus_new(&s->loop, &bo, on_bus_recv, on_bus_peer, s);
    if (s->bus == NULL) {
        fprintf(stderr, "keel: cannot start the cluster bus (cluster id too long?)\n");
        return false;
    }
    int port = o->cluster_port ? o->cluster_port : self >= 0 ? o->peers[self].port : 0;
    char err[160];
    if (bus_listen(s->bus, bus_host(s), port, err, sizeof(err)) != 0) {
        log_msg(LOG_WARNING, "could not listen (cluster bus)", "port=%d error=\"%s\"", port, err);
        return false;
    }
    s->bus_port = bus_port(s->bus);
    for (int i = 0; i < o->npeers; i++)
        if (i != self)
            bus_add_peer(s->bus, o->peers[i].id, o->peers[i].host, o->peers[i].port);
    log_msg(LOG_NOTICE, "cluster bus ready", "node_id=%llu cluster_port=%d peers=%d join=%s",
            (unsigned long long)o->node_id, s->bus_port, o->npeers,
            o->join_host ? o->join_host : "-");
    return true;
}

/* The directory's first entries, once this node's ports are known: itself,
 * the founding peers, and what it saved before. */
static void dir_seed(io_server *s)
{
    const io_server_opts *o = &s->opts;
    node_addr me;
    memset(&me, 0, sizeof(me));
    me.id = o->node_id;
    snprintf(me.bus_host, sizeof(me.bus_host), "%s", bus_host(s));
    me.bus_port = s->bus_port;
    snprintf(me.host, sizeof(me.host), "%s", o->announce_ip ? o->announce_ip : bus_host(s));
    me.port = s->bound_port;
    me.http_port = s->http ? s->http_bound_port : -1;
    node_dir_set(&s->n, &me);
    for (int i = 0; i < o->npeers; i++) {
        if (o->peers[i].id == o->node_id || node_dir_get(&s->n, o->peers[i].id))
            continue;
        node_addr a;
        memset(&a, 0, sizeof(a));
        a.id = o->peers[i].id;
        snprintf(a.bus_host, sizeof(a.bus_host), "%s", o->peers[i].host);
        a.bus_port = o->peers[i].port;
        a.http_port = -1;
        node_dir_set(&s->n, &a);
    }
    dir_load(s);
    dir_sync(s);
}

#define GROUP_DIR "0"

int64_t io_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_server_opts_default(io_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cluster_id = "keel";
    o->cluster_secret = "";
    o->election_ms = 1000;
    o->cluster_snapshot_entries = 10000;
    o->bind[0] = "127.0.0.1";
    o->nbind = 1;
    o->port = 6379;
    o->tcp_backlog = 511;
    o->tcp_keepalive_s = 300;
    o->http_port = -1;
    o->hz = 10;
    o->busy_poll_us = 50;
    o->databases = ENGINE_DEFAULT_DBS;
    o->lim = node_limits_default();
    o->appendfsync = PERSIST_FSYNC_ALWAYS;
    o->wal_segment_size = 64u << 20;
    o->wal_preallocate = true;
    o->wal_snapshot_threshold = 64u << 20;
}

static void process_actions(io_server *s);
static void begin_shutdown(io_server *s);

/* Reading from a client pauses while its output in the node is over the
 * node's pause mark, and the node stops running its commands at the same
 * mark: a client that does not read its replies holds at most that much in
 * the node plus one buffer in flight, not without bound. */
static bool output_over_pause(io_conn *c)
{
    uint64_t mark = node_output_pause_mark(&c->srv->n);
    kbuf *out = node_output(&c->srv->n, c->id);
    return mark && out && out->len > mark;
}

/* Runs the commands the node left in c's query buffer when its output went
 * over the mark, as long as the output keeps going out. */
static void run_pending(io_conn *c)
{
    io_server *s = c->srv;
    while (!c->closing && !c->close_after && !output_over_pause(c) &&
           node_input_pending(&s->n, c->id)) {
        node_event ev = {.type = EV_CLIENT_DATA, .now_ms = io_wall_ms(), .conn = c->id, .nread = 0};
        node_step(&s->n, &ev);
        process_actions(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Connections */

static void on_close(uv_handle_t *h)
{
    io_conn *c = h->data;
    io_server *s = c->srv;
    node_event ev = {.type = EV_CLIENT_CLOSED, .now_ms = io_wall_ms(), .conn = c->id};
    node_step(&s->n, &ev);
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        s->conns = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    kbuf_free(&c->inflight);
    free(c);
    process_actions(s);
    if (s->shutting_down && s->conns == NULL)
        begin_shutdown(s);
}

static void conn_close(io_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void conn_flush(io_conn *c);
static void start_reading(io_conn *c);

static void on_write(uv_write_t *req, int status)
{
    io_conn *c = req->data;
    c->writing = false;
    kbuf_clear(&c->inflight);
    c->inflight_off = 0;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_flush(c);
    run_pending(c);
}

/* Sends what the node has for c: try_write first (most replies go out
 * here), the rest through uv_write from a buffer swapped out of the node so
 * the node can keep appending meanwhile. */
static void conn_flush(io_conn *c)
{
    if (c->closing || c->writing)
        return;
    io_server *s = c->srv;
    kbuf *out = node_output(&s->n, c->id);
    if (out && out->len) {
        uv_buf_t b = uv_buf_init(out->data, (unsigned)out->len);
        int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (w == UV_EAGAIN || w == UV_ENOSYS)
            w = 0;
        if (w < 0) {
            conn_close(c);
            return;
        }
        if ((size_t)w < out->len) {
            /* Swap the node's buffer with our empty one: no copy. */
            kbuf tmp = *out;
            *out = c->inflight;
            c->inflight = tmp;
            c->inflight_off = (size_t)w;
            c->writing = true;
            uv_buf_t rest = uv_buf_init(c->inflight.data + w, (unsigned)(c->inflight.len - (size_t)w));
            c->wreq.data = c;
            if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &rest, 1, on_write) != 0) {
                c->writing = false;
                conn_close(c);
                return;
            }
        } else {
            node_output_sent(&s->n, c->id, (size_t)w);
        }
    }
    if (!c->writing && c->close_after) {
        conn_close(c);
        return;
    }
    start_reading(c);
}

static io_conn *conn_by_id(io_server *s, conn_id id)
{
    /* The action list is short and connections few per action: a linear
     * walk would be O(conns); keep a pointer in the node's client instead. */
    client *cl = node_client(&s->n, id);
    return cl ? cl->driver : NULL;
}

/* The check phase: write what the reads of this loop turn produced, then
 * run what clients left pending behind a full output. */
static void process_actions(io_server *s);

static void on_flush_check(uv_check_t *h)
{
    io_server *s = h->data;
    /* The writes of this turn go to the log as one batch. */
    if (node_log_enabled(&s->n)) {
        size_t n;
        node_log_flush(&s->n);
        node_actions(&s->n, &n);
        if (n > 0) /* most turns hand nothing over */
            process_actions(s);
    }
    for (size_t i = 0; i < s->nto_flush; i++) {
        io_conn *c = conn_by_id(s, s->to_flush[i]);
        if (c == NULL)
            continue;
        conn_flush(c);
        if (!c->closing)
            run_pending(c);
    }
    s->nto_flush = 0;
}

static void on_deadline(uv_timer_t *t)
{
    io_server *s = t->data;
    s->armed_deadline = -1;
    node_event ev = {.type = EV_TIMER, .now_ms = io_wall_ms()};
    node_step(&s->n, &ev);
    process_actions(s);
}

/* Keeps the deadline timer on the node's next deadline. */
static void arm_deadline(io_server *s)
{
    if (s->handles_closed)
        return;
    int64_t d = node_next_deadline(&s->n);
    if (d == s->armed_deadline)
        return;
    s->armed_deadline = d;
    if (d < 0) {
        uv_timer_stop(&s->deadline);
        return;
    }
    int64_t wait = d - io_wall_ms();
    uv_timer_start(&s->deadline, on_deadline, (uint64_t)(wait > 0 ? wait : 0), 0);
}

/* A cluster node's snapshot (taken, or installed from the leader): written
 * by libuv's thread pool (temp file, fsync, rename, directory fsync), so the
 * loop goes on serving meanwhile; the bytes stay valid until
 * EV_SNAPSHOT_SAVED (node.h). Then the log before it goes. */
typedef struct snap_job {
    uv_work_t req;
    io_server *s;
    const void *data;
    size_t len;
    uint64_t index, term;
    bool ok;
    char err[256];
} snap_job;

static void snap_job_work(uv_work_t *req)
{
    snap_job *j = req->data;
    j->ok = persist_snapshot_write(GROUP_DIR, j->index, j->term, j->data, j->len, j->err,
                                   sizeof(j->err));
}

static void snap_job_done(uv_work_t *req, int status)
{
    snap_job *j = req->data;
    io_server *s = j->s;
    if (status != 0 && j->ok) {
        j->ok = false;
        snprintf(j->err, sizeof(j->err), "%s", uv_strerror(status));
    }
    if (!j->ok)
        log_msg(LOG_WARNING, "snapshot write failed", "index=%llu error=\"%s\"",
                (unsigned long long)j->index, j->err);
    s->snap_saved_pending = true;
    s->snap_saved_ok = j->ok;
    snprintf(s->snap_saved_err, sizeof(s->snap_saved_err), "%s", j->ok ? "" : j->err);
    if (j->ok) {
        s->snap_saved_index = j->index;
        s->snapshots_done++;
    }
    free(j);
    if (!s->handles_closed)
        process_actions(s); /* steps EV_SNAPSHOT_SAVED */
}

static void save_cluster_snapshot(io_server *s, const node_action *a)
{
    snap_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    *j = (snap_job){.s = s, .data = a->data, .len = a->len, .index = a->index, .term = a->term};
    j->req.data = j;
    int r = uv_queue_work(&s->loop, &j->req, snap_job_work, snap_job_done);
    if (r != 0) {
        snap_job_work(&j->req); /* no thread: write it here */
        snap_job_done(&j->req, 0);
    }
}

static void process_actions(io_server *s)
{
    /* DEBUG SLEEP: the whole server stops before the reply goes out, as in
     * Redis (the loop thread sleeps; the core only asked for it). */
    if (s->n.eng.debug_sleep_us > 0) {
        int64_t us = s->n.eng.debug_sleep_us;
        s->n.eng.debug_sleep_us = 0;
        struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0)
            ;
        uv_update_time(&s->loop);
    }
    size_t n;
    const node_action *acts = node_actions(&s->n, &n);
    /* The disk first: the next batch is on its way while replies go out. */
    for (size_t i = 0; i < n; i++)
        if (acts[i].type == ACT_LOG_WRITE)
            persist_writer_submit(s->writer, node_log_batch(&s->n));
    for (size_t i = 0; i < n; i++) {
        if (acts[i].type == ACT_LOG_WRITE)
            continue;
        if (acts[i].type == ACT_PEER_SEND) {
            if (s->bus)
                bus_send(s->bus, acts[i].peer, acts[i].service, acts[i].data, acts[i].len);
            continue;
        }
        if (acts[i].type == ACT_SNAPSHOT_SAVE) {
            save_cluster_snapshot(s, &acts[i]);
            continue;
        }
        io_conn *c = conn_by_id(s, acts[i].conn);
        if (c == NULL)
            continue;
        if (acts[i].type == ACT_CLOSE && acts[i].discard) {
            conn_close(c); /* limits, timeout, CLIENT KILL: unsent output is dropped */
            continue;
        }
        if (acts[i].type == ACT_CLOSE) {
            c->close_after = true;
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        if (s->in_read) {
            if (s->nto_flush == s->capto_flush) {
                s->capto_flush = s->capto_flush ? s->capto_flush * 2 : 64;
                s->to_flush = realloc(s->to_flush, s->capto_flush * sizeof(*s->to_flush));
                if (s->to_flush == NULL)
                    abort();
            }
            s->to_flush[s->nto_flush++] = acts[i].conn;
        } else {
            conn_flush(c);
        }
    }
    node_actions_clear(&s->n);
    dir_sync(s);
    const rf_core *rc = node_raft(&s->n);
    if (rc && (rc->role != s->raft_role || rc->leader != s->raft_leader)) {
        s->raft_changes++;
        s->raft_role = rc->role;
        s->raft_leader = rc->leader;
        log_msg(rc->role == RF_LEADER ? LOG_NOTICE : LOG_VERBOSE, "raft role changed",
                "role=%s term=%llu leader=%llu", rf_role_name(rc->role),
                (unsigned long long)rc->term, (unsigned long long)rc->leader);
    }
    if (s->snap_saved_pending) {
        s->snap_saved_pending = false;
        node_event ev = {.type = EV_SNAPSHOT_SAVED, .now_ms = io_wall_ms(),
                         .log_error = s->snap_saved_ok ? NULL : s->snap_saved_err};
        node_step(&s->n, &ev);
        if (s->snap_saved_ok) {
            char err[256];
            if (persist_compact(GROUP_DIR, s->snap_saved_index, err, sizeof(err)) < 0)
                log_msg(LOG_WARNING, "log compaction failed", "error=\"%s\"", err);
        }
        process_actions(s);
        return;
    }
    arm_deadline(s);
    if (s->n.stopping && !s->shutting_down) {
        s->exit_code = 0;
        begin_shutdown(s);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    io_conn *c = h->data;
    size_t avail = 0;
    char *p = node_read_buffer(&c->srv->n, c->id, READ_CHUNK, &avail);
    *buf = uv_buf_init(p, (unsigned)(avail > 0x7fffffff ? 0x7fffffff : avail));
}

static uint64_t heap_used(void);

static void on_busy_poll(uv_idle_t *h)
{
    io_server *s = h->data;
    if (uv_hrtime() >= s->busy_until)
        uv_idle_stop(h);
}

/* Client input came: poll on for busy-poll-us. Not with the write-ahead
 * log on (nor in a cluster, whose log is always on): its writer thread
 * needs the core the polling would hold (on two cores, appendfsync always
 * lost a quarter of its throughput with it). Decision 0012. */
static void busy_poll_extend(io_server *s)
{
    if (s->rt.busy_poll_us <= 0 || s->handles_closed || node_log_enabled(&s->n) || cluster_mode(s))
        return;
    s->busy_until = uv_hrtime() + (uint64_t)s->rt.busy_poll_us * 1000u;
    uv_idle_start(&s->busy_poll, on_busy_poll); /* nothing if already started */
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    io_conn *c = st->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    /* maxmemory needs a fresh measure before the commands run. */
    if (c->srv->n.eng.cfg.maxmemory)
        engine_set_used_memory(&c->srv->n.eng, heap_used());
    node_event ev = {.type = EV_CLIENT_DATA, .now_ms = io_wall_ms(), .conn = c->id,
                     .nread = (size_t)nread};
    node_step(&c->srv->n, &ev);
    busy_poll_extend(c->srv);
    c->srv->in_read = true;
    process_actions(c->srv);
    c->srv->in_read = false;
    /* Backpressure: stop reading while a lot of output is unsent. */
    if (!c->closing && c->reading && output_over_pause(c)) {
        uv_read_stop(st);
        c->reading = false;
    }
}

static void start_reading(io_conn *c)
{
    if (c->reading || c->closing || c->close_after || output_over_pause(c))
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

static void addr_string(const struct sockaddr_storage *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
        uv_ip4_name(v4, ip, sizeof(ip));
        port = ntohs(v4->sin_port);
    } else if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
        uv_ip6_name(v6, ip, sizeof(ip));
        port = ntohs(v6->sin6_port);
    }
    /* Redis's anetFormatAddr: IPv6 in brackets. */
    snprintf(out, cap, a->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

static void on_reject_close(uv_handle_t *h) { free(h); }

static void on_reject_written(uv_write_t *req, int status)
{
    (void)status;
    uv_close((uv_handle_t *)req->handle, on_reject_close);
    free(req);
}

static void on_connection(uv_stream_t *listener, int status)
{
    io_server *s = listener->data;
    if (status < 0 || s->shutting_down)
        return;
    io_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    uv_tcp_init(&s->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_reject_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->opts.tcp_keepalive_s > 0)
        uv_tcp_keepalive(&c->tcp, 1, (unsigned)s->opts.tcp_keepalive_s);
    struct sockaddr_storage peer, local;
    int len = sizeof(peer);
    char paddr[64] = "", laddr[64] = "";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &len) == 0)
        addr_string(&peer, paddr, sizeof(paddr));
    len = sizeof(local);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&local, &len) == 0)
        addr_string(&local, laddr, sizeof(laddr));
    uv_os_fd_t fd = -1;
    uv_fileno((uv_handle_t *)&c->tcp, &fd);

    const char *reject;
    conn_id id = node_client_open(&s->n, io_wall_ms(), paddr, laddr, (int)fd, &reject);
    if (id == 0) {
        /* maxclients: say so, then close (Redis does the same). */
        uv_write_t *req = malloc(sizeof(*req));
        uv_buf_t b = uv_buf_init((char *)reject, (unsigned)strlen(reject));
        if (req == NULL || uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_reject_written) != 0) {
            free(req);
            uv_close((uv_handle_t *)&c->tcp, on_reject_close);
        }
        return;
    }
    c->srv = s;
    c->id = id;
    c->tcp.data = c;
    node_client(&s->n, id)->driver = c;
    c->next_all = s->conns;
    if (s->conns)
        s->conns->prev_all = c;
    s->conns = c;
    start_reading(c);
}

/* ------------------------------------------------------------------------ */
/* Durability: the log's writer, snapshots (docs/durability.md) */

static void begin_shutdown(io_server *s);
static void finish_log_off(io_server *s);
static const char *start_bgsave(io_server *s);

static void on_log_done(void *ctx, const char *error)
{
    io_server *s = ctx;
    if (error && !s->log_failed_logged) {
        s->log_failed_logged = true;
        log_msg(LOG_WARNING,
                "write-ahead log write failed: write commands are refused until restart "
                "(or a new log: CONFIG SET appendonly no, then yes)",
                "error=\"%s\"", error);
    }
    node_event ev = {.type = EV_LOG_DONE, .now_ms = io_wall_ms(), .log_error = error};
    node_step(&s->n, &ev);
    process_actions(s);
    finish_log_off(s);
    if (s->bgsave_scheduled && !persist_snapshot_in_progress() && !s->shutting_down) {
        s->bgsave_scheduled = false;
        start_bgsave(s);
    }
    if (s->shutting_down && node_log_idle(&s->n))
        begin_shutdown(s);
}

static void snap_encode(void *ctx, kbuf *out)
{
    io_server *s = ctx;
    uint64_t index, term;
    node_snapshot_encode(&s->n, out, &index, &term);
}

/* A snapshot at index is durable: the log before it can go. */
static void snapshot_durable(io_server *s, uint64_t index, uint64_t term)
{
    bool whole = node_snapshot_done(&s->n, index, term, s->log_bytes_at_fork, io_wall_ms());
    uint64_t *dirty = &s->n.eng.stats.dirty;
    *dirty -= *dirty < s->dirty_at_fork ? *dirty : s->dirty_at_fork;
    s->snapshots_done++;
    char err[256];
    int gone = persist_compact(GROUP_DIR, index, err, sizeof(err));
    if (gone < 0) {
        /* The older snapshots may still be there: keep every segment, so
         * that falling back to one of them finds its log (or a gap). */
        log_msg(LOG_WARNING, "log compaction failed", "error=\"%s\"", err);
        return;
    }
    /* With the log off, this snapshot is newer than any log left there;
     * with it on and the snapshot covering all of it (no write since), the
     * segments hold nothing more and the next entry starts a new one. The
     * older snapshots are gone first: none is left without its log. */
    size_t rest = 0;
    int e = !node_log_enabled(&s->n) || whole ? persist_remove_segments(GROUP_DIR, &rest) : 0;
    if (e)
        log_msg(LOG_WARNING, "could not remove a stale log", "error=\"%s\"", strerror(e));
    if (gone > 0 || rest > 0)
        log_msg(LOG_VERBOSE, "log compacted", "snapshot_index=%llu segments_deleted=%llu",
                (unsigned long long)index, (unsigned long long)gone + rest);
}

static void on_bgsave_done(void *ctx, bool ok, uint64_t index, uint64_t term, const char *err)
{
    io_server *s = ctx;
    s->last_bgsave_ok = ok;
    s->last_bgsave_secs = (io_wall_ms() - s->bgsave_started_ms) / 1000;
    if (ok) {
        snapshot_durable(s, index, term);
        log_msg(LOG_NOTICE, "Background saving terminated with success", "index=%llu",
                (unsigned long long)index);
    } else {
        log_msg(LOG_WARNING, "Background saving error", "error=\"%s\"", err ? err : "?");
    }
    if (s->bgsave_scheduled && !s->shutting_down) {
        s->bgsave_scheduled = false;
        start_bgsave(s);
    }
}

/* What a snapshot taken now covers; notes the log's size and the change
 * count at this point (what comes after counts for the next one). */
static void snapshot_point(io_server *s, uint64_t *index, uint64_t *term)
{
    node_log_info li;
    node_log_get_info(&s->n, &li);
    *index = li.applied_index;
    *term = li.applied_term;
    s->log_bytes_at_fork = li.bytes;
    s->dirty_at_fork = s->n.eng.stats.dirty;
}

static const char *start_bgsave(io_server *s)
{
    if (persist_snapshot_in_progress())
        return "-ERR Background save already in progress";
    if (mkdir(GROUP_DIR, 0755) != 0 && errno != EEXIST) {
        log_msg(LOG_WARNING, "Can't save in background", "error=\"%s\"", strerror(errno));
        s->last_bgsave_ok = false;
        return "-ERR";
    }
    uint64_t index, term;
    snapshot_point(s, &index, &term);
    int r = persist_snapshot_fork(&s->loop, GROUP_DIR, index, term, snap_encode, s, on_bgsave_done);
    if (r < 0) {
        log_msg(LOG_WARNING, "Can't save in background", "error=\"%s\"", strerror(-r));
        s->last_bgsave_ok = false;
        return "-ERR";
    }
    s->bgsave_started_ms = io_wall_ms();
    log_msg(LOG_NOTICE, "Background saving started", "pid=%lld index=%llu",
            (long long)persist_snapshot_child_pid(), (unsigned long long)index);
    return NULL;
}

/* SAVE and BGSAVE (the engine's hook). */
static const char *snapshot_cb(void *ctx, engine *e, bool background, bool schedule)
{
    (void)e;
    io_server *s = ctx;
    if (background) {
        node_log_info li;
        node_log_get_info(&s->n, &li);
        /* Inside an entry being applied (a logged transaction), the fork
         * would copy half of it: it starts once the entry is done, as Redis
         * schedules a BGSAVE run inside EXEC. */
        if (li.applying || (schedule && persist_snapshot_in_progress())) {
            s->bgsave_scheduled = true;
            return "+Background saving scheduled";
        }
        return start_bgsave(s);
    }
    if (persist_snapshot_in_progress())
        return "-ERR Background save already in progress";
    if (mkdir(GROUP_DIR, 0755) != 0 && errno != EEXIST) {
        log_msg(LOG_WARNING, "Snapshot save failed", "error=\"%s\"", strerror(errno));
        return "-ERR";
    }
    kbuf buf = KBUF_INIT;
    uint64_t index, term;
    snapshot_point(s, &index, &term);
    node_snapshot_encode(&s->n, &buf, &index, &term);
    char err[256];
    bool ok = persist_snapshot_write(GROUP_DIR, index, term, buf.data, buf.len, err, sizeof(err));
    kbuf_free(&buf);
    if (!ok) {
        log_msg(LOG_WARNING, "Snapshot save failed", "error=\"%s\"", err);
        return "-ERR";
    }
    snapshot_durable(s, index, term);
    log_msg(LOG_NOTICE, "DB saved on disk", "index=%llu", (unsigned long long)index);
    return NULL;
}

/* Snapshots on their own: when the log grew past wal-snapshot-threshold,
 * or at a `save` point (seconds and changes since the last save). */
static void auto_snapshot(io_server *s, int64_t now_ms)
{
    if (s->shutting_down || persist_snapshot_in_progress())
        return;
    node_log_info li;
    node_log_get_info(&s->n, &li);
    /* As Redis, a failed BGSAVE is retried only after 5 seconds. */
    if (!s->last_bgsave_ok && now_ms - s->bgsave_started_ms <= 5000)
        return;
    bool due = li.enabled && !li.failed && s->opts.wal_snapshot_threshold &&
               li.bytes_since_snapshot >= s->opts.wal_snapshot_threshold;
    uint64_t dirty = s->n.eng.stats.dirty;
    for (int i = 0; i < s->opts.nsave && !due; i++)
        due = dirty >= (uint64_t)s->opts.save[i].changes && dirty > 0 &&
              now_ms - s->n.eng.lastsave_ms >= s->opts.save[i].secs * 1000;
    if (due || s->bgsave_scheduled) {
        s->bgsave_scheduled = false;
        start_bgsave(s);
    }
}

static const char *load_snapshot_cb(void *ctx, const void *buf, size_t len)
{
    return node_snapshot_load(ctx, buf, len);
}

/* appendonly no: only the newest snapshot, if there is one (as Redis
 * loads its RDB file); the log is not read. */
static bool load_snapshot_only(io_server *s)
{
    char path[PATH_MAX];
    if (!persist_newest_snapshot(GROUP_DIR, path))
        return true;
    char *buf = NULL;
    size_t len = 0;
    int e = persist_read_file(path, &buf, &len);
    const char *why = e ? strerror(e) : node_snapshot_load(&s->n, buf, len);
    free(buf);
    if (why) {
        log_msg(LOG_WARNING, "cannot load the snapshot", "file=%s error=\"%s\"", path, why);
        return false;
    }
    log_msg(LOG_NOTICE, "DB loaded from disk", "snapshot=%s", path);
    return true;
}

static bool setup_node(io_server *s, uint64_t seed);

static bool start_writer(io_server *s)
{
    s->writer = persist_writer_new(&s->loop, GROUP_DIR, (persist_fsync)s->opts.appendfsync,
                                   on_log_done, s);
    if (s->writer == NULL) {
        log_msg(LOG_WARNING, "cannot start the log writer thread", NULL);
        return false;
    }
    persist_writer_set_prealloc(s->writer, s->opts.wal_preallocate ? s->opts.wal_segment_size : 0);
    return true;
}

static void log_opts(io_server *s, node_log_opts *lo)
{
    node_log_opts_default(lo);
    lo->seg_max = s->opts.wal_segment_size;
    if (getrandom(&lo->salt_seed, sizeof(lo->salt_seed), 0) != sizeof(lo->salt_seed))
        lo->salt_seed = uv_hrtime() ^ (uint64_t)getpid();
}

/* CONFIG SET appendonly yes: a snapshot of what memory holds, then a new
 * log after it (snapshot_durable removes the files of an earlier log: with
 * the log off they are stale). */
static const char *appendonly_on(io_server *s)
{
    finish_log_off(s);
    if (node_log_closing(&s->n))
        return "the write-ahead log is still being turned off (writes in flight): try again";
    /* A snapshot being written in the background is of the state before:
     * the log starts from one taken now instead. */
    persist_snapshot_abort();
    if (snapshot_cb(s, &s->n.eng, false, false) != NULL)
        return "cannot write the snapshot the log starts from (see the log)";
    node_log_opts lo;
    log_opts(s, &lo);
    char err[256];
    if (!node_log_start(&s->n, NULL, &lo, err, sizeof(err))) {
        log_msg(LOG_WARNING, "cannot start the write-ahead log", "error=\"%s\"", err);
        return "cannot start the write-ahead log (see the log)";
    }
    if (!start_writer(s)) {
        node_log_stop(&s->n);
        return "cannot start the log writer thread";
    }
    s->log_failed_logged = false; /* a new log: its own failures are news */
    node_log_info li;
    node_log_get_info(&s->n, &li);
    log_msg(LOG_NOTICE, "write-ahead log turned on", "snapshot_index=%llu",
            (unsigned long long)li.snapshot_index);
    return NULL;
}

/* CONFIG SET appendonly no: writes run at once from now on; the log is
 * closed once what is in it is written and applied (finish_log_off). */
static void finish_log_off(io_server *s)
{
    if (!node_log_closing(&s->n) || !node_log_idle(&s->n) || !node_log_stop(&s->n))
        return;
    char err[256];
    if (s->writer && !persist_writer_close(s->writer, err, sizeof(err)))
        log_msg(LOG_WARNING, "the log was not synced when turned off", "error=\"%s\"", err);
    s->writer = NULL;
    log_msg(LOG_NOTICE, "write-ahead log turned off", NULL);
}

static const char *appendonly_off(io_server *s)
{
    node_log_close(&s->n);
    finish_log_off(s);
    return NULL;
}

/* Start-up: snapshot and log, then the writer. */
/* The Raft options of this node: the founding members are the peers. */
static void cluster_opts(io_server *s, uint64_t seed, node_cluster_opts *co)
{
    const io_server_opts *o = &s->opts;
    memset(co, 0, sizeof(*co));
    rf_options_default(&co->raft);
    co->raft.id = o->node_id;
    co->raft.seed = seed;
    co->raft.election_ms = o->election_ms;
    co->raft.heartbeat_ms = o->election_ms / 10 > 1 ? o->election_ms / 10 : 1;
    co->raft.max_drift_ms = o->election_ms / 10;
    /* A node that is not among them joins (--join): it starts with no
     * membership and learns it from the leader. */
    bool founder = false;
    for (int i = 0; i < o->npeers; i++)
        founder |= o->peers[i].id == o->node_id;
    for (int i = 0; i < o->npeers && founder; i++)
        co->bootstrap.voters[co->bootstrap.nvoters++] = o->peers[i].id;
    /* Sorted, as rf_config wants. */
    for (uint32_t i = 1; i < co->bootstrap.nvoters; i++)
        for (uint32_t j = i; j > 0 && co->bootstrap.voters[j - 1] > co->bootstrap.voters[j]; j--) {
            rf_id t = co->bootstrap.voters[j];
            co->bootstrap.voters[j] = co->bootstrap.voters[j - 1];
            co->bootstrap.voters[j - 1] = t;
        }
    co->snapshot_entries = o->cluster_snapshot_entries;
    co->forward = true;
    /* Every member hashes with the same seed: the cluster's id names it. */
    co->data_seed = XXH3_64bits(o->cluster_id, strlen(o->cluster_id));
}

static bool start_durability(io_server *s, uint64_t seed)
{
    if (!s->opts.appendonly)
        return load_snapshot_only(s);
    uint64_t t0 = uv_hrtime();
    char err[1024];
    for (;;) {
        wal_recovery rc;
        wal_recovery_init(&rc, 0);
        persist_status st = persist_recover(
            GROUP_DIR, 0, s->opts.wal_repair_corrupt, load_snapshot_cb,
            cluster_mode(s) ? node_cluster_replay : node_log_replay, &s->n, &rc, &s->recovered,
            err, sizeof(err));
        if (st == PERSIST_RETRY) {
            log_msg(LOG_WARNING, "corrupt log cut (wal-repair-corrupt yes)", "what=\"%s\"", err);
            wal_recovery_free(&rc);
            node_free(&s->n);
            if (!setup_node(s, seed))
                return false;
            continue;
        }
        if (st == PERSIST_FAIL) {
            wal_recovery_free(&rc);
            log_msg(LOG_WARNING, "cannot start: the write-ahead log is damaged", "error=\"%s\"", err);
            fprintf(stderr, "keel: cannot start: %s\n", err);
            return false;
        }
        if (s->recovered.torn)
            log_msg(LOG_WARNING, "torn tail cut from the write-ahead log",
                    "file=%s offset=%llu bytes=%llu saved_to=%s reason=\"%s\"", s->recovered.torn_file,
                    (unsigned long long)s->recovered.torn_offset,
                    (unsigned long long)s->recovered.torn_bytes, s->recovered.torn_saved,
                    wal_reason_text(s->recovered.torn_reason));
        node_log_opts lo;
        log_opts(s, &lo);
        bool ok;
        if (cluster_mode(s)) {
            node_cluster_opts co;
            cluster_opts(s, seed, &co);
            ok = node_cluster_start(&s->n, &rc, &lo, &co, err, sizeof(err));
        } else {
            ok = node_log_start(&s->n, &rc, &lo, err, sizeof(err));
        }
        wal_recovery_free(&rc);
        if (!ok) {
            log_msg(LOG_WARNING, "cannot start: the write-ahead log does not fit", "error=\"%s\"", err);
            fprintf(stderr, "keel: cannot start: %s\n", err);
            return false;
        }
        break;
    }
    if (!start_writer(s))
        return false;
    /* The replay's commands are not what clients asked for. */
    engine_reset_stats(&s->n.eng);
    s->n.eng.stats.dirty = 0;
    s->recovery_secs = (double)(uv_hrtime() - t0) / 1e9;
    node_log_info li;
    node_log_get_info(&s->n, &li);
    log_msg(LOG_NOTICE, "DB loaded from disk",
            "seconds=%.3f snapshot_index=%llu last_index=%llu segments=%zu replayed_commands=%llu",
            s->recovery_secs, (unsigned long long)li.snapshot_index,
            (unsigned long long)li.last_index, s->recovered.segments,
            (unsigned long long)li.replayed);
    return true;
}

/* INFO raft (cluster nodes): this node's view of its group, and on the
 * leader each member's replication. */
static void info_raft(io_server *s, kbuf *out)
{
    const rf_core *r = node_raft(&s->n);
    if (r == NULL)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line),
                     "node_id:%llu\r\nrole:%s\r\nterm:%llu\r\nleader_id:%llu\r\n"
                     "commit_index:%llu\r\napplied_index:%llu\r\nlast_index:%llu\r\n"
                     "snapshot_index:%llu\r\nvoters:%u\r\nlearners:%u\r\n",
                     (unsigned long long)r->o.id, rf_role_name(r->role),
                     (unsigned long long)r->term, (unsigned long long)r->leader,
                     (unsigned long long)r->commit, (unsigned long long)r->applied,
                     (unsigned long long)rf_last_index(r), (unsigned long long)r->snap_index,
                     r->config.nvoters, r->config.nlearners);
    kbuf_append(out, line, (size_t)n);
    if (r->role != RF_LEADER)
        return;
    for (uint32_t i = 0; i < r->nmembers; i++) {
        if (r->members[i] == r->o.id)
            continue;
        const rf_progress *p = &r->prog[i];
        n = snprintf(line, sizeof(line), "peer%llu:match=%llu,lag=%llu,state=%s,voter=%d,connected=%d\r\n",
                     (unsigned long long)r->members[i], (unsigned long long)p->match,
                     (unsigned long long)(rf_last_index(r) - p->match),
                     p->state == RF_REPLICATE ? "replicate" : p->state == RF_PROBE ? "probe" : "snapshot",
                     rf_config_is_voter(&r->config, r->members[i]) ? 1 : 0,
                     s->bus && bus_connected(s->bus, r->members[i]) ? 1 : 0);
        kbuf_append(out, line, (size_t)n);
    }
}

static void info_persistence(io_server *s, kbuf *out)
{
    node_log_info li;
    node_log_get_info(&s->n, &li);
    persist_writer_stats ws = {0};
    if (s->writer)
        persist_writer_get_stats(s->writer, &ws);
    uint64_t wal_bytes = 0, segments = 0, first = 0;
    if (li.enabled)
        persist_dir_usage(GROUP_DIR, &wal_bytes, &segments, &first);
    /* The first entry the files hold: compaction moves it on; with no
     * segment (all compacted), the next entry's. */
    uint64_t first_index = !li.enabled ? 0 : segments && first ? first : li.last_index + 1;
    int64_t now = io_wall_ms();
    bool bg = persist_snapshot_in_progress();
    char b[2048];
    int n = snprintf(
        b, sizeof(b),
        "rdb_bgsave_in_progress:%d\r\nrdb_last_bgsave_status:%s\r\n"
        "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%llu\r\n"
        "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
        "aof_last_write_status:%s\r\naof_last_bgrewrite_status:ok\r\n"
        "wal_appendfsync:%s\r\nwal_term:%llu\r\nwal_first_index:%llu\r\nwal_last_index:%llu\r\n"
        "wal_applied_index:%llu\r\nwal_snapshot_index:%llu\r\nwal_snapshot_term:%llu\r\n"
        "wal_batches:%llu\r\nwal_entries:%llu\r\nwal_commands:%llu\r\nwal_bytes_written:%llu\r\n"
        "wal_bytes_since_snapshot:%llu\r\nwal_segments:%llu\r\nwal_disk_bytes:%llu\r\n"
        "wal_fsyncs:%llu\r\nwal_fsync_avg_usec:%llu\r\nwal_fsync_max_usec:%llu\r\n"
        "wal_recovery_seconds:%.3f\r\nwal_replayed_commands:%llu\r\nwal_torn_bytes_cut:%llu\r\n",
        bg ? 1 : 0, s->last_bgsave_ok ? "ok" : "err",
        s->snapshots_done || !s->last_bgsave_ok ? (long long)s->last_bgsave_secs : -1LL,
        bg ? (long long)((now - s->bgsave_started_ms) / 1000) : -1LL,
        (unsigned long long)s->snapshots_done, li.enabled ? 1 : 0, bg ? 1 : 0,
        s->bgsave_scheduled ? 1 : 0, li.failed ? "err" : "ok",
        persist_fsync_names[s->opts.appendfsync], (unsigned long long)li.term,
        (unsigned long long)first_index, (unsigned long long)li.last_index,
        (unsigned long long)li.applied_index, (unsigned long long)li.snapshot_index,
        (unsigned long long)li.snapshot_term, (unsigned long long)li.batches,
        (unsigned long long)li.entries, (unsigned long long)li.commands,
        (unsigned long long)li.bytes, (unsigned long long)li.bytes_since_snapshot,
        (unsigned long long)segments, (unsigned long long)wal_bytes, (unsigned long long)ws.fsyncs,
        (unsigned long long)(ws.fsyncs ? ws.fsync_us_total / ws.fsyncs : 0),
        (unsigned long long)ws.fsync_us_max, s->recovery_secs, (unsigned long long)li.replayed,
        (unsigned long long)(s->recovered.torn ? s->recovered.torn_bytes : 0));
    if (n > 0)
        kbuf_append(out, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* ------------------------------------------------------------------------ */
/* Time, signals, shutdown */

static void on_tick(uv_timer_t *t)
{
    io_server *s = t->data;
    node_event ev = {.type = EV_TICK, .now_ms = io_wall_ms()};
    node_step(&s->n, &ev);
    process_actions(s);
    auto_snapshot(s, ev.now_ms);
    cluster_tick(s, ev.now_ms);
    if (s->shutting_down && ev.now_ms >= s->drain_deadline_ms) {
        for (io_conn *c = s->conns; c; c = c->next_all)
            conn_close(c);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Stop accepting, flush every client's replies, close, leave the loop. */
static void begin_shutdown(io_server *s)
{
    if (!s->shutting_down)
        s->drain_deadline_ms = io_wall_ms() + SHUTDOWN_DRAIN_MS;
    s->shutting_down = true;
    for (int i = 0; i < s->nlisteners; i++)
        if (!uv_is_closing((uv_handle_t *)&s->listeners[i]))
            uv_close((uv_handle_t *)&s->listeners[i], NULL);
    /* Writes in the log are answered before anyone is closed (on_log_done
     * comes back here); clients send nothing more meanwhile. */
    if (!node_log_idle(&s->n) && io_wall_ms() < s->drain_deadline_ms) {
        for (io_conn *c = s->conns; c; c = c->next_all) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        return;
    }
    for (io_conn *c = s->conns; c; c = c->next_all) {
        c->close_after = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        conn_flush(c);
    }
    if (s->conns == NULL && !s->handles_closed) {
        s->handles_closed = true;
        /* Without a log, save points mean a snapshot at exit (Redis's
         * "Saving the final RDB snapshot before exiting"); SHUTDOWN SAVE
         * asks for one, NOSAVE for none. */
        int want = s->n.eng.shutdown_save; /* SHUTDOWN SAVE 1, NOSAVE -1 */
        if (want > 0 || (want == 0 && !node_log_enabled(&s->n) && s->opts.nsave > 0 &&
                         s->n.eng.stats.dirty > 0)) {
            persist_snapshot_abort();
            log_msg(LOG_NOTICE, "Saving the final snapshot before exiting", NULL);
            if (snapshot_cb(s, &s->n.eng, false, false) != NULL)
                s->exit_code = 1;
        }
        if (s->writer) {
            char err[256];
            if (!persist_writer_close(s->writer, err, sizeof(err)))
                log_msg(LOG_WARNING, "the log was not synced at exit", "error=\"%s\"", err);
            s->writer = NULL;
        }
        persist_snapshot_abort();
        http_close(s->http); /* before the walk, which would orphan its handles */
        s->http = NULL;
        bus_close(s->bus, NULL, NULL);
        s->bus = NULL;
        uv_timer_stop(&s->tick);
        uv_timer_stop(&s->deadline);
        uv_check_stop(&s->flush_check);
        uv_idle_stop(&s->busy_poll);
        uv_walk(&s->loop, close_walk, NULL);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    io_server *s = h->data;
    if (++s->signals > 1) {
        log_msg(LOG_WARNING, "second signal: exiting now", "signal=%d", signum);
        exit(1);
    }
    log_msg(LOG_NOTICE, "shutting down", "signal=%d", signum);
    begin_shutdown(s);
}

/* ------------------------------------------------------------------------ */
/* The runtime's CONFIG parameters: CONFIG GET shows them, CONFIG SET
 * changes those that can change while running (applied to the node's
 * limits at once; connection-level ones to new connections). */

#define RT_OFF(f) offsetof(struct rt_config, f)
#define RT_SERVER(base) ((io_server *)((char *)(base) - offsetof(io_server, rt)))

static bool rt_apply(engine *e, void *base, char *err)
{
    (void)e;
    (void)err;
    io_server *s = RT_SERVER(base);
    s->n.lim.maxclients = (uint64_t)s->rt.maxclients;
    s->n.lim.idle_timeout_ms = s->rt.timeout_s * 1000;
    s->opts.tcp_keepalive_s = (int)s->rt.tcp_keepalive_s;
    s->n.lim.resp.query_max = (size_t)s->rt.query_max;
    log_set_level(s->rt.loglevel);
    s->n.lim.protected_mode = s->rt.protected_mode;
    return true;
}

static bool save_set(engine *e, void *base, const char *v, size_t len, char *err)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    /* Redis's form: "<seconds> <changes> ..." or "" (none). */
    char buf[512];
    if (len >= sizeof(buf)) {
        snprintf(err, CONFIG_ERR_MAX, "Invalid save parameters");
        return false;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    long long vals[32];
    int n = 0;
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *end;
        long long x = strtoll(tok, &end, 10);
        if (*end || x < (n % 2 ? 0 : 1) || n == 32) { /* seconds >= 1, changes >= 0 */
            snprintf(err, CONFIG_ERR_MAX, "Invalid save parameters");
            return false;
        }
        vals[n++] = x;
    }
    if (n % 2) {
        snprintf(err, CONFIG_ERR_MAX, "Invalid save parameters");
        return false;
    }
    s->opts.nsave = n / 2;
    for (int i = 0; i < n / 2; i++) {
        s->opts.save[i].secs = vals[2 * i];
        s->opts.save[i].changes = vals[2 * i + 1];
    }
    return true;
}

static void save_get(engine *e, void *base, kbuf *out)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    for (int i = 0; i < s->opts.nsave; i++) {
        char b[48];
        int n = snprintf(b, sizeof(b), "%s%lld %lld", i ? " " : "", (long long)s->opts.save[i].secs,
                         (long long)s->opts.save[i].changes);
        kbuf_append(out, b, (size_t)n);
    }
}

static bool appendonly_set(engine *e, void *base, const char *v, size_t len, char *err)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    bool on;
    if (len == 3 && !strncasecmp(v, "yes", 3))
        on = true;
    else if (len == 2 && !strncasecmp(v, "no", 2))
        on = false;
    else {
        snprintf(err, CONFIG_ERR_MAX, "argument must be 'yes' or 'no'");
        return false;
    }
    if (on == s->opts.appendonly)
        return true;
    const char *why = on ? appendonly_on(s) : appendonly_off(s);
    if (why) {
        snprintf(err, CONFIG_ERR_MAX, "%s", why);
        return false;
    }
    s->opts.appendonly = on;
    return true;
}

static void appendonly_get(engine *e, void *base, kbuf *out)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    kbuf_append(out, s->opts.appendonly ? "yes" : "no", s->opts.appendonly ? 3 : 2);
}

static bool appendfsync_set(engine *e, void *base, const char *v, size_t len, char *err)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    int m = persist_fsync_parse(v, len);
    if (m < 0) {
        snprintf(err, CONFIG_ERR_MAX, "argument(s) must be one of the following: always, everysec, no");
        return false;
    }
    s->opts.appendfsync = m;
    if (s->writer)
        persist_writer_set_fsync(s->writer, (persist_fsync)m);
    return true;
}

static void appendfsync_get(engine *e, void *base, kbuf *out)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    kbuf_append(out, persist_fsync_names[s->opts.appendfsync], strlen(persist_fsync_names[s->opts.appendfsync]));
}

static void bind_get(engine *e, void *base, kbuf *out)
{
    (void)e;
    io_server *s = RT_SERVER(base);
    for (int i = 0; i < s->opts.nbind; i++) {
        if (i)
            kbuf_putc(out, ' ');
        kbuf_append(out, s->opts.bind[i], strlen(s->opts.bind[i]));
    }
}

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning", NULL};

static const config_def runtime_configs[] = {
    {.name = "maxclients", .type = CONFIG_INT, .min = 1, .max = LLONG_MAX,
     .offset = RT_OFF(maxclients), .apply = rt_apply},
    {.name = "timeout", .type = CONFIG_INT, .min = 0, .max = INT_MAX, .offset = RT_OFF(timeout_s),
     .apply = rt_apply},
    {.name = "tcp-keepalive", .type = CONFIG_INT, .min = 0, .max = INT_MAX,
     .offset = RT_OFF(tcp_keepalive_s), .apply = rt_apply},
    {.name = "busy-poll-us", .type = CONFIG_INT, .min = 0, .max = 100000,
     .offset = RT_OFF(busy_poll_us)},
    {.name = "client-query-buffer-limit", .type = CONFIG_MEMORY, .min = 1024 * 1024, .max = LLONG_MAX,
     .offset = RT_OFF(query_max), .apply = rt_apply},
    {.name = "protected-mode", .type = CONFIG_BOOL, .offset = RT_OFF(protected_mode),
     .apply = rt_apply},
    {.name = "loglevel", .type = CONFIG_ENUM, .enum_names = loglevels, .offset = RT_OFF(loglevel),
     .apply = rt_apply},
    {.name = "port", .type = CONFIG_INT, .flags = CONFIG_IMMUTABLE, .min = 0, .max = 65535,
     .offset = RT_OFF(port)},
    {.name = "http-port", .type = CONFIG_INT, .flags = CONFIG_IMMUTABLE, .min = -1, .max = 65535,
     .offset = RT_OFF(http_port)},
    {.name = "bind", .type = CONFIG_SPECIAL, .flags = CONFIG_IMMUTABLE, .get = bind_get},
    {.name = "save", .type = CONFIG_SPECIAL, .set = save_set, .get = save_get},
    {.name = "appendonly", .type = CONFIG_SPECIAL, .set = appendonly_set, .get = appendonly_get},
    {.name = "appendfsync", .type = CONFIG_SPECIAL, .set = appendfsync_set, .get = appendfsync_get},
    /* Accepted for Redis's tools and tests: a keel log always starts from a
     * snapshot (what Redis calls the RDB preamble). */
    {.name = "aof-use-rdb-preamble", .type = CONFIG_BOOL, .offset = RT_OFF(aof_use_rdb_preamble)},
    {0},
};

/* ------------------------------------------------------------------------ */
/* What only the runtime knows, for INFO and /metrics */

static uint64_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)(mi.uordblks + mi.hblkhd);
}

/* The engine times commands with this (INFO commandstats, latencystats):
 * two readings per command, so it is worth making cheap. Where the CPU has
 * an invariant TSC (constant_tsc and nonstop_tsc, as Linux reports them),
 * the TSC scaled to microseconds (rdtsc costs about half a vDSO
 * clock_gettime); elsewhere the monotonic clock. Only statistics read it. */
static struct {
    bool tsc;
    uint64_t mult; /* microseconds per cycle, << 32 */
} cmd_clock;

#if defined(__x86_64__)
#include <x86intrin.h>
static bool cpu_has_invariant_tsc(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}
#endif

static void cmd_clock_init(void)
{
#if defined(__x86_64__)
    if (!cpu_has_invariant_tsc())
        return;
    uint64_t t0 = uv_hrtime(), c0 = __rdtsc();
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    uint64_t t1 = uv_hrtime(), c1 = __rdtsc();
    if (c1 <= c0 || t1 <= t0)
        return;
    double us_per_cycle = ((double)(t1 - t0) / 1000.0) / (double)(c1 - c0);
    cmd_clock.mult = (uint64_t)(us_per_cycle * 4294967296.0);
    cmd_clock.tsc = cmd_clock.mult > 0;
#endif
}

static uint64_t clock_us(void *ctx)
{
    (void)ctx;
#if defined(__x86_64__)
    if (cmd_clock.tsc)
        return (uint64_t)(((unsigned __int128)__rdtsc() * cmd_clock.mult) >> 32);
#endif
    return uv_hrtime() / 1000;
}

static uint64_t rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void info_fields(void *ctx, const engine *e, const char *section, kbuf *out)
{
    (void)e;
    io_server *s = ctx;
    char line[256];
    int n = 0;
    if (!strcmp(section, "server")) {
        n = snprintf(line, sizeof(line), "process_id:%d\r\ntcp_port:%d\r\n", (int)getpid(),
                     s->bound_port);
    } else if (!strcmp(section, "clients")) {
        n = snprintf(line, sizeof(line), "maxclients:%llu\r\n",
                     (unsigned long long)s->n.lim.maxclients);
    } else if (!strcmp(section, "memory")) {
        uint64_t used = heap_used(), rss = rss_bytes();
        n = snprintf(line, sizeof(line),
                     "used_memory:%llu\r\nused_memory_rss:%llu\r\nmem_fragmentation_ratio:%.2f\r\n"
                     "mem_allocator:libc\r\nmaxmemory:%lld\r\n",
                     (unsigned long long)used, (unsigned long long)rss,
                     used ? (double)rss / (double)used : 0.0, e->cfg.maxmemory);
        void *base;
        bool alias;
        const config_def *d = config_lookup((engine *)e, "maxmemory-policy", 16, &base, &alias);
        if (d && n > 0 && (size_t)n < sizeof(line)) {
            kbuf_append(out, line, (size_t)n);
            kbuf_append(out, "maxmemory_policy:", 17);
            config_get_value((engine *)e, d, base, out);
            kbuf_append(out, "\r\n", 2);
            n = 0;
        }
    } else if (!strcmp(section, "stats")) {
        n = snprintf(line, sizeof(line), "rejected_connections:%llu\r\ntotal_net_input_bytes:%llu\r\n",
                     (unsigned long long)s->n.stats.rejected_connections,
                     (unsigned long long)s->n.stats.net_input_bytes);
    } else if (!strcmp(section, "persistence")) {
        info_persistence(s, out);
    } else if (!strcmp(section, "raft")) {
        info_raft(s, out);
    } else if (!strcmp(section, "cpu")) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        n = snprintf(line, sizeof(line), "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
                     (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, (long)ru.ru_utime.tv_sec,
                     (long)ru.ru_utime.tv_usec);
    }
    if (n > 0)
        kbuf_append(out, line, (size_t)n);
}

/* One command's series: calls, errors, and its latency histogram (from
 * the engine's per-command lathist, bucketed at Prometheus-style bounds). */
static void command_metrics(const cmd_entry *ce, kbuf *b)
{
    const cmd_stats *st = &ce->stats;
    if (!st->calls && !st->rejected_calls)
        return;
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "keel_command_calls_total{cmd=\"%s\"} %llu\n"
                     "keel_command_failed_calls_total{cmd=\"%s\"} %llu\n"
                     "keel_command_rejected_calls_total{cmd=\"%s\"} %llu\n",
                     ce->fullname, (unsigned long long)st->calls, ce->fullname,
                     (unsigned long long)st->failed_calls, ce->fullname,
                     (unsigned long long)st->rejected_calls);
    kbuf_append(b, line, (size_t)n);
    if (st->lat == NULL)
        return;
    static const uint64_t bounds_us[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
                                         25000, 100000, 1000000};
    for (size_t i = 0; i < sizeof(bounds_us) / sizeof(bounds_us[0]); i++) {
        n = snprintf(line, sizeof(line),
                     "keel_command_duration_seconds_bucket{cmd=\"%s\",le=\"%g\"} %llu\n",
                     ce->fullname, (double)bounds_us[i] / 1e6,
                     (unsigned long long)lathist_count_le(st->lat, bounds_us[i]));
        kbuf_append(b, line, (size_t)n);
    }
    n = snprintf(line, sizeof(line),
                 "keel_command_duration_seconds_bucket{cmd=\"%s\",le=\"+Inf\"} %llu\n"
                 "keel_command_duration_seconds_sum{cmd=\"%s\"} %.6f\n"
                 "keel_command_duration_seconds_count{cmd=\"%s\"} %llu\n",
                 ce->fullname, (unsigned long long)st->lat->total, ce->fullname,
                 (double)st->usec / 1e6, ce->fullname, (unsigned long long)st->lat->total);
    kbuf_append(b, line, (size_t)n);
}

static void metric(kbuf *b, const char *name, const char *type, const char *help, double v)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
                     type, name, v);
    kbuf_append(b, line, (size_t)n);
}

/* One labelled sample per peer: "name{peer="id"} v". */
static void peer_sample(kbuf *b, const char *name, uint64_t peer, double v)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "%s{peer=\"%llu\"} %.17g\n", name,
                     (unsigned long long)peer, v);
    kbuf_append(b, line, (size_t)n);
}

static void head(kbuf *b, const char *name, const char *type, const char *help)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    kbuf_append(b, line, (size_t)n);
}

/* A cluster node's Raft and bus figures (INFO raft's, by Prometheus names). */
static void raft_metrics(io_server *s, kbuf *b)
{
    const rf_core *r = node_raft(&s->n);
    if (r == NULL)
        return;
    node_log_info li;
    node_log_get_info(&s->n, &li);
    metric(b, "keel_raft_term", "gauge", "Current Raft term", (double)r->term);
    metric(b, "keel_raft_is_leader", "gauge", "1 on the leader", r->role == RF_LEADER ? 1 : 0);
    metric(b, "keel_raft_leader_id", "gauge", "The leader this node knows (0: none)",
           (double)r->leader);
    metric(b, "keel_raft_leader_changes_total", "counter",
           "Times this node saw its role or the leader change", (double)s->raft_changes);
    metric(b, "keel_raft_commit_index", "gauge", "Highest log index known committed",
           (double)r->commit);
    metric(b, "keel_raft_applied_index", "gauge", "Highest log index applied here",
           (double)li.applied_index);
    metric(b, "keel_raft_last_index", "gauge", "Last index in this node's log",
           (double)rf_last_index(r));
    metric(b, "keel_raft_snapshot_index", "gauge", "Index the newest snapshot covers",
           (double)r->snap_index);
    metric(b, "keel_raft_voters", "gauge", "Voting members", (double)r->config.nvoters);
    metric(b, "keel_raft_learners", "gauge", "Learners (catching up before promotion)",
           (double)r->config.nlearners);
    if (r->role == RF_LEADER) {
        head(b, "keel_raft_peer_match_index", "gauge", "Leader: highest index known on the peer");
        for (uint32_t i = 0; i < r->nmembers; i++)
            if (r->members[i] != r->o.id)
                peer_sample(b, "keel_raft_peer_match_index", r->members[i],
                            (double)r->prog[i].match);
        head(b, "keel_raft_peer_lag_entries", "gauge", "Leader: entries the peer is behind");
        for (uint32_t i = 0; i < r->nmembers; i++)
            if (r->members[i] != r->o.id)
                peer_sample(b, "keel_raft_peer_lag_entries", r->members[i],
                            (double)(rf_last_index(r) - r->prog[i].match));
    }
    if (s->bus == NULL)
        return;
    bus_peer_stats st[64];
    size_t n = bus_stats(s->bus, st, 64);
    if (n > 64)
        n = 64;
    static const struct {
        const char *name, *type, *help;
    } bm[] = {
        {"keel_bus_peer_connected", "gauge", "1 while the bus connection to the peer is up"},
        {"keel_bus_sent_messages_total", "counter", "Messages written to the peer"},
        {"keel_bus_received_messages_total", "counter", "Messages received from the peer"},
        {"keel_bus_dropped_messages_total", "counter", "Messages to the peer dropped (queue full or lost with a connection)"},
        {"keel_bus_queued_bytes", "gauge", "Bytes queued for the peer"},
        {"keel_bus_connects_total", "counter", "Handshakes completed with the peer"},
    };
    for (size_t m = 0; m < sizeof(bm) / sizeof(bm[0]); m++) {
        head(b, bm[m].name, bm[m].type, bm[m].help);
        for (size_t i = 0; i < n; i++) {
            double v = m == 0   ? (st[i].connected ? 1 : 0)
                       : m == 1 ? (double)st[i].sent_msgs
                       : m == 2 ? (double)st[i].recv_msgs
                       : m == 3 ? (double)st[i].dropped_msgs
                       : m == 4 ? (double)st[i].queued_bytes
                                : (double)st[i].connects;
            peer_sample(b, bm[m].name, st[i].id, v);
        }
    }
    metric(b, "keel_bus_refused_connections_total", "counter",
           "Bus connections refused (wrong cluster, secret, or garbage)",
           (double)bus_refused_total(s->bus));
}

/* Prometheus text exposition: the figures INFO reports, by their
 * Prometheus names. */
static void write_metrics(io_server *s, kbuf *b)
{
    engine *e = &s->n.eng;
    uint64_t keys = 0, expires = 0, hits = 0, misses = 0, expired = 0;
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        keys += db_size(d);
        expires += db_expires_count(d);
        hits += d->stats.hits;
        misses += d->stats.misses;
        expired += d->stats.expired;
    }
    metric(b, "keel_up", "gauge", "1 while the server runs", 1);
    metric(b, "keel_connected_clients", "gauge", "Client connections", (double)e->nclients);
    metric(b, "keel_connections_received_total", "counter", "Connections accepted",
           (double)e->stats.connections);
    metric(b, "keel_rejected_connections_total", "counter", "Connections refused by maxclients",
           (double)s->n.stats.rejected_connections);
    metric(b, "keel_commands_processed_total", "counter", "Commands run", (double)e->stats.commands);
    metric(b, "keel_error_replies_total", "counter", "Error replies", (double)e->stats.error_replies);
    metric(b, "keel_keyspace_hits_total", "counter", "Key lookups that found the key", (double)hits);
    metric(b, "keel_keyspace_misses_total", "counter", "Key lookups that did not", (double)misses);
    metric(b, "keel_expired_keys_total", "counter", "Keys removed because their TTL passed",
           (double)expired);
    metric(b, "keel_keys", "gauge", "Keys in all databases", (double)keys);
    metric(b, "keel_keys_with_ttl", "gauge", "Keys with a TTL", (double)expires);
    metric(b, "keel_memory_used_bytes", "gauge", "Heap in use", (double)heap_used());
    metric(b, "keel_memory_rss_bytes", "gauge", "Resident set size", (double)rss_bytes());
    metric(b, "keel_net_input_bytes_total", "counter", "Bytes read from clients",
           (double)s->n.stats.net_input_bytes);
    metric(b, "keel_protocol_errors_total", "counter", "Connections closed for protocol errors",
           (double)s->n.stats.protocol_errors);
    raft_metrics(s, b);
    static const char heads[] =
        "# HELP keel_command_calls_total Calls per command\n"
        "# TYPE keel_command_calls_total counter\n"
        "# HELP keel_command_failed_calls_total Calls per command that replied with an error\n"
        "# TYPE keel_command_failed_calls_total counter\n"
        "# HELP keel_command_rejected_calls_total Calls per command refused before running\n"
        "# TYPE keel_command_rejected_calls_total counter\n"
        "# HELP keel_command_duration_seconds Time per command, in the engine\n"
        "# TYPE keel_command_duration_seconds histogram\n";
    kbuf_append(b, heads, sizeof(heads) - 1);
    for (int i = 0; i < e->ncmds; i++) {
        command_metrics(&e->cmds[i], b);
        for (int j = 0; j < e->cmds[i].nsubs; j++)
            command_metrics(&e->cmds[i].subs[j], b);
    }
}

static void on_http(void *ctx, const http_req *req, http_response *resp)
{
    io_server *s = ctx;
    if (http_req_path_is(req, "/health")) {
        /* 200 while serving, 503 once shutting down; JSON for probes and
         * people alike. The role is "master" until the node is in a
         * replicated group. */
        char body[200];
        int64_t up = (io_wall_ms() - s->n.eng.start_ms) / 1000;
        const rf_core *rc = node_raft(&s->n);
        int n = snprintf(body, sizeof(body),
                         "{\"status\":\"%s\",\"role\":\"%s\",\"uptime_seconds\":%lld%s",
                         s->shutting_down ? "shutting_down" : "ok",
                         rc ? rf_role_name(rc->role) : "master", (long long)(up > 0 ? up : 0),
                         rc ? "" : "}\n");
        if (rc)
            n += snprintf(body + n, sizeof(body) - (size_t)n,
                          ",\"node_id\":%llu,\"leader_id\":%llu,\"term\":%llu}\n",
                          (unsigned long long)rc->o.id, (unsigned long long)rc->leader,
                          (unsigned long long)rc->term);
        if (s->shutting_down)
            resp->status = 503;
        resp->content_type = HTTP_CT_JSON;
        kbuf_append(&resp->body, body, (size_t)n);
    } else if (http_req_path_is(req, "/ready")) {
        const rf_core *rc = node_raft(&s->n);
        if (!s->shutting_down && rc && rc->leader == 0) {
            /* A cluster node serves nothing until it knows a leader. */
            resp->status = 503;
            kbuf_append(&resp->body, "no leader known\n", 16);
        } else if (!s->shutting_down) {
            kbuf_append(&resp->body, "ready\n", 6);
        } else {
            resp->status = 503;
            kbuf_append(&resp->body, "shutting down\n", 14);
        }
    } else if (http_req_path_is(req, "/metrics")) {
        resp->content_type = HTTP_CT_PROMETHEUS;
        write_metrics(s, &resp->body);
    } else {
        resp->status = 404;
        kbuf_append(&resp->body, "not found\n", 10);
    }
}

/* CONFIG REWRITE: the defaults to compare with come from an engine and a
 * runtime table built with nothing configured. */
/* The runtime parameters' values as the options give them (CONFIG
 * REWRITE compares against those of the default options). */
static struct rt_config rt_from_opts(const io_server_opts *o, int port, int loglevel)
{
    return (struct rt_config){
        .maxclients = (long long)o->lim.maxclients,
        .timeout_s = o->lim.idle_timeout_ms / 1000,
        .tcp_keepalive_s = o->tcp_keepalive_s,
        .busy_poll_us = o->busy_poll_us,
        .port = port,
        .http_port = o->http_port,
        .query_max = (long long)o->lim.resp.query_max,
        .loglevel = loglevel,
        .protected_mode = o->lim.protected_mode,
        .aof_use_rdb_preamble = true,
    };
}

static bool config_rewrite_cb(void *ctx, engine *e, char *err)
{
    io_server *s = ctx;
    if (s->opts.config_file == NULL) {
        snprintf(err, CONFIG_ERR_MAX, "The server is running without a config file");
        return false;
    }
    io_server *d = calloc(1, sizeof(*d));
    if (d == NULL)
        abort();
    io_server_opts_default(&d->opts);
    engine_init(&d->n.eng, 1, 0);
    d->rt = rt_from_opts(&d->opts, d->opts.port, LOG_NOTICE);
    config_register(&d->n.eng, runtime_configs, &d->rt);
    bool ok = keel_config_rewrite(s->opts.config_file, e, &d->n.eng, err, CONFIG_ERR_MAX);
    engine_free(&d->n.eng);
    free(d);
    if (ok)
        log_msg(LOG_NOTICE, "CONFIG REWRITE executed with success", "file=\"%s\"",
                s->opts.config_file);
    return ok;
}

/* The node as the options make it (also again when recovery repaired a
 * corrupt log and starts over). */
static bool setup_node(io_server *s, uint64_t seed)
{
    const io_server_opts *o = &s->opts;
    node_init(&s->n, seed, io_wall_ms(), &o->lim);
    if (o->requirepass)
        s->n.eng.cfg.requirepass = strdup(o->requirepass);
    s->n.eng.cfg.hz = o->hz;
    engine_set_databases(&s->n.eng, o->databases);
    for (int i = 0; i < o->ncore_directives; i++) {
        void *base;
        bool alias;
        const char *name = o->core_directives[i].name, *v = o->core_directives[i].value;
        const config_def *d = config_lookup(&s->n.eng, name, strlen(name), &base, &alias);
        char err[CONFIG_ERR_MAX] = "Bad directive or wrong number of arguments";
        if (d == NULL || !config_set_one(&s->n.eng, d, base, v, strlen(v), err)) {
            fprintf(stderr, "\n*** FATAL CONFIG ERROR (keel) ***\n%s\n%s\n",
                    o->core_directives[i].where, err);
            return false;
        }
    }
    s->n.eng.snapshot = snapshot_cb;
    s->n.eng.snapshot_ctx = s;
    s->n.defer_log_flush = true;
    return true;
}

int io_server_run(const io_server_opts *o)
{
    io_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return 1;
    s->opts = *o;
    uint64_t seed = o->seed;
    if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (uint64_t)io_wall_ms() ^ (uint64_t)getpid();
    if (!setup_node(s, seed))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&s->loop);
    s->last_bgsave_ok = true;
    if (cluster_mode(s))
        s->opts.appendonly = true; /* a cluster node's log is Raft's */
    if (!start_durability(s, seed))
        return 1;
    if (cluster_mode(s) && !start_bus(s, seed))
        return 1;

    int bound_port = o->port;
    for (int i = 0; i < o->nbind; i++) {
        struct sockaddr_storage addr;
        int r = strchr(o->bind[i], ':')
                    ? uv_ip6_addr(o->bind[i], bound_port, (struct sockaddr_in6 *)&addr)
                    : uv_ip4_addr(o->bind[i], bound_port, (struct sockaddr_in *)&addr);
        uv_tcp_t *l = &s->listeners[s->nlisteners];
        uv_tcp_init(&s->loop, l);
        l->data = s;
        if (r == 0)
            r = uv_tcp_bind(l, (struct sockaddr *)&addr, 0);
        if (r == 0)
            r = uv_listen((uv_stream_t *)l, o->tcp_backlog, on_connection);
        if (r != 0) {
            log_msg(LOG_WARNING, "could not listen", "addr=%s port=%d error=\"%s\"", o->bind[i],
                    bound_port, uv_strerror(r));
            return 1;
        }
        if (bound_port == 0) {
            struct sockaddr_storage got;
            int len = sizeof(got);
            uv_tcp_getsockname(l, (struct sockaddr *)&got, &len);
            bound_port = ntohs(((struct sockaddr_in *)&got)->sin_port);
        }
        s->nlisteners++;
    }
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    uint64_t period = (uint64_t)(1000 / (o->hz > 0 ? o->hz : 10));
    uv_timer_start(&s->tick, on_tick, period, period);
    uv_check_init(&s->loop, &s->flush_check);
    s->flush_check.data = s;
    uv_check_start(&s->flush_check, on_flush_check);
    uv_idle_init(&s->loop, &s->busy_poll);
    s->busy_poll.data = s;
    uv_timer_init(&s->loop, &s->deadline);
    s->deadline.data = s;
    s->armed_deadline = -1;
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);

    s->bound_port = bound_port;
    s->rt = rt_from_opts(o, bound_port, log_get_level());
    config_register(&s->n.eng, runtime_configs, &s->rt);
    static const char *const cluster_sections[] = {"raft", NULL};
    s->info = (info_provider){.ctx = s, .fields = info_fields,
                              .sections = cluster_mode(s) ? cluster_sections : NULL};
    s->n.eng.info = &s->info;
    cmd_clock_init();
    s->n.eng.clock_us = clock_us;
    s->n.eng.clock_ctx = s;
    s->n.eng.config_rewrite = config_rewrite_cb;
    s->n.eng.config_rewrite_ctx = s;
    if (o->http_port >= 0) {
        char err[160];
        s->http = http_listen(&s->loop, o->bind[0], o->http_port, on_http, s, &s->http_bound_port,
                              err, sizeof(err));
        if (s->http == NULL) {
            log_msg(LOG_WARNING, "could not listen (http)", "port=%d error=\"%s\"", o->http_port, err);
            return 1;
        }
        log_msg(LOG_NOTICE, "HTTP observability endpoints ready", "http_port=%d", s->http_bound_port);
    }
    if (cluster_mode(s))
        dir_seed(s);
    log_msg(LOG_NOTICE, "Ready to accept connections", "port=%d", bound_port);
    if (o->on_ready)
        o->on_ready(o->ctx, bound_port);

    uv_run(&s->loop, UV_RUN_DEFAULT);
    int code = s->exit_code;
    uv_loop_close(&s->loop);
    node_free(&s->n);
    free(s->to_flush);
    free(s);
    log_msg(LOG_NOTICE, "keel is now ready to exit, bye bye", NULL);
    return code;
}
