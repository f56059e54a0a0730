#include "cmd/bench/bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("keel-bench: clock_gettime(CLOCK_MONOTONIC)");
        exit(BENCH_EXIT_FAIL);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

void bench_run_init(bench_run *r)
{
    r->now_ms = 1700000000000LL;
    engine_init(&r->e, 42, r->now_ms);
    r->c = engine_client_new(&r->e, r->now_ms);
    kbuf_init(&r->out);
    kbuf_reserve(&r->out, 1 << 20);
}

void bench_run_free(bench_run *r)
{
    kbuf_free(&r->out);
    engine_free(&r->e);
}

/* ---- redis-server as the peer ---- */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* Connects to the server `pid` started on `port`; -1 if it exited first. */
static int connect_port(int port, pid_t pid)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* redis-server needs a moment to listen: retry for up to 10 s. */
    for (int i = 0; i < 200; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            return -1;
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
            return s;
        close(s);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -2; /* exited (not found, port taken, ...) and reaped */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int bench_redis_start(const char *server, pid_t *pid)
{
    int port = free_port();
    if (port < 0)
        return -1;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t p = fork();
    if (p < 0)
        return -1;
    if (p == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) {
            dup2(dn, 1);
            dup2(dn, 2);
        }
        execlp(server, server, "--port", portstr, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp", (char *)NULL);
        _exit(127);
    }
    int s = connect_port(port, p);
    if (s == -2)
        return -1;
    if (s < 0) {
        bench_redis_stop(-1, p);
        return -1;
    }
    *pid = p;
    return s;
}

void bench_redis_stop(int s, pid_t pid)
{
    if (s >= 0)
        close(s);
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

bool bench_write_all(int s, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(s, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads until `count` replies that each end with "\r\n" were seen (simple
 * one-line replies only) into nothing. */
bool bench_read_lines(int s, uint64_t count)
{
    char buf[65536];
    while (count) {
        ssize_t r = read(s, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '-')
                return false;
            if (buf[i] == '\n')
                count--;
        }
    }
    return true;
}

unsigned long long bench_redis_used_memory(int s)
{
    const char *cmd = "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n";
    if (!bench_write_all(s, cmd, strlen(cmd)))
        return 0;
    char buf[16384];
    size_t have = 0;
    long long want = -1;
    for (;;) {
        ssize_t r = read(s, buf + have, sizeof(buf) - 1 - have);
        if (r <= 0)
            return 0;
        have += (size_t)r;
        buf[have] = '\0';
        if (want < 0 && strstr(buf, "\r\n"))
            want = atoll(buf + 1) + (long long)(strstr(buf, "\r\n") - buf) + 4;
        if (want >= 0 && (long long)have >= want)
            break;
        if (have >= sizeof(buf) - 1)
            return 0;
    }
    const char *f = strstr(buf, "\r\nused_memory:");
    return f ? strtoull(f + 14, NULL, 10) : 0;
}
