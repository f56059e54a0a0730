/* sim/net: links, loss, duplication, delay and partitions. See net.h. */
#include "sim/net.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void snet_init(snet *net, int n, const snet_opts *o)
{
    assert(n >= 1 && n <= SNET_MAX);
    memset(net, 0, sizeof(*net));
    net->n = n;
    net->o = *o;
}

static bool chance(kprng *rng, uint32_t ppm) { return ppm && kprng_below(rng, 1000000) < ppm; }

static int64_t delay(snet *net, kprng *rng)
{
    int64_t d = net->o.delay_us;
    if (net->o.jitter_us > 0)
        d += (int64_t)kprng_below(rng, (uint64_t)net->o.jitter_us + 1);
    if (chance(rng, net->o.spike_ppm) && net->o.spike_us > 0)
        d += (int64_t)kprng_below(rng, (uint64_t)net->o.spike_us + 1);
    return d < 1 ? 1 : d;
}

int snet_send(snet *net, kprng *rng, int from, int to, int64_t now_us, int64_t at[2])
{
    net->sent++;
    if (net->down[from][to]) {
        net->cut++;
        return 0;
    }
    if (chance(rng, net->o.loss_ppm)) {
        net->lost++;
        return 0;
    }
    int copies = chance(rng, net->o.dup_ppm) ? 2 : 1;
    if (copies == 2)
        net->duped++;
    for (int i = 0; i < copies; i++) {
        int64_t t = now_us + delay(net, rng);
        if (!net->o.reorder && t <= net->last[from][to])
            t = net->last[from][to] + 1;
        if (t > net->last[from][to])
            net->last[from][to] = t;
        at[i] = t;
    }
    return copies;
}

void snet_heal(snet *net) { memset(net->down, 0, sizeof(net->down)); }

void snet_isolate(snet *net, int node)
{
    for (int i = 0; i < net->n; i++)
        if (i != node)
            net->down[node][i] = net->down[i][node] = true;
}

static void side_desc(const bool *side, int n, bool which, char *p, size_t cap, size_t *len)
{
    *len += (size_t)snprintf(p + *len, *len < cap ? cap - *len : 0, "{");
    bool first = true;
    for (int i = 0; i < n; i++)
        if (side[i] == which) {
            *len += (size_t)snprintf(p + *len, *len < cap ? cap - *len : 0, "%s%d",
                                     first ? "" : ",", i + 1);
            first = false;
        }
    *len += (size_t)snprintf(p + *len, *len < cap ? cap - *len : 0, "}");
}

void snet_split(snet *net, kprng *rng, char *desc, size_t cap)
{
    int n = net->n;
    bool side[SNET_MAX] = {false};
    if (n < 2) {
        snprintf(desc, cap, "(one node)");
        return;
    }
    /* A random subset that is neither empty nor everything. */
    int k;
    do {
        k = 0;
        for (int i = 0; i < n; i++) {
            side[i] = kprng_below(rng, 2);
            k += side[i];
        }
    } while (k == 0 || k == n);
    snet_heal(net);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (side[i] != side[j])
                net->down[i][j] = true;
    size_t len = 0;
    side_desc(side, n, true, desc, cap, &len);
    len += (size_t)snprintf(desc + len, len < cap ? cap - len : 0, "|");
    side_desc(side, n, false, desc, cap, &len);
}

void snet_one_way(snet *net, kprng *rng, int k, char *desc, size_t cap)
{
    size_t len = 0;
    desc[0] = '\0';
    if (net->n < 2)
        return;
    for (int c = 0; c < k; c++) {
        int from = (int)kprng_below(rng, (uint64_t)net->n);
        int to = (int)kprng_below(rng, (uint64_t)net->n - 1);
        if (to >= from)
            to++;
        net->down[from][to] = true;
        len += (size_t)snprintf(desc + len, len < cap ? cap - len : 0, "%s%d->%d", c ? "," : "",
                                from + 1, to + 1);
    }
}

bool snet_partitioned(const snet *net)
{
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->n; j++)
            if (net->down[i][j])
                return true;
    return false;
}
