/* evict: maxmemory and its eviction policies (Redis's evict.c, simplified).
 *
 * The core never asks the allocator how much it uses: the driver measures
 * it and hands the figure in (engine_set_used_memory), as it hands in the
 * time. Eviction then deletes keys chosen by maxmemory-policy, lowering
 * the figure by each key's MEMORY USAGE estimate, until it is under the
 * limit; the driver measures again before the next batch of commands.
 *
 * Choosing a key: from each database, maxmemory-samples keys (of all keys,
 * or of those with a TTL for volatile-*) are drawn with the engine's PRNG;
 * the best of all the samples goes: the longest idle (LRU; LFU too, as keel
 * keeps no access counter), the nearest deadline (volatile-ttl), or simply
 * the first drawn (random). Redis keeps a pool of 16 candidates across
 * calls; one fresh sample per eviction is close enough and has no state. */
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"

void engine_set_used_memory(engine *e, uint64_t bytes) { e->used_memory = bytes; }

static bool volatile_policy(int p)
{
    return p == EVICT_VOLATILE_LRU || p == EVICT_VOLATILE_LFU || p == EVICT_VOLATILE_RANDOM ||
           p == EVICT_VOLATILE_TTL;
}

/* Higher is a better victim. */
static uint64_t victim_score(const db *d, const kentry *e, int policy)
{
    if (policy == EVICT_VOLATILE_TTL)
        return UINT64_MAX - (uint64_t)kentry_deadline(e);
    return kentry_idle(d, e);
}

/* Picks a key to evict; its database in *dbid. NULL when none is left. */
static kentry *pick_victim(engine *e, int *dbid)
{
    int policy = e->cfg.maxmemory_policy;
    bool vol = volatile_policy(policy);
    bool random = policy == EVICT_VOLATILE_RANDOM || policy == EVICT_ALLKEYS_RANDOM;
    kentry *best = NULL;
    uint64_t best_score = 0;
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        if ((vol ? db_expires_count(d) : db_size(d)) == 0)
            continue;
        for (long long s = 0; s < e->cfg.maxmemory_samples; s++) {
            kentry *k = db_sample(d, &e->rng, vol);
            if (k == NULL)
                break;
            uint64_t score = random ? 0 : victim_score(d, k, policy);
            if (best == NULL || score > best_score) {
                best = k;
                best_score = score;
                *dbid = i;
            }
            if (random)
                return best;
        }
    }
    return best;
}

bool engine_evict(engine *e)
{
    if (e->cfg.maxmemory <= 0)
        return true;
    uint64_t limit = (uint64_t)e->cfg.maxmemory;
    while (e->used_memory > limit) {
        if (e->cfg.maxmemory_policy == EVICT_NOEVICTION)
            return false;
        int dbid = 0;
        kentry *k = pick_victim(e, &dbid);
        if (k == NULL)
            return false;
        size_t bytes = key_memory_usage(k);
        db_delete_entry(engine_db(e, dbid), k);
        e->stats.evicted_keys++;
        e->stats.dirty++;
        e->used_memory = e->used_memory > bytes ? e->used_memory - bytes : 0;
    }
    return true;
}
