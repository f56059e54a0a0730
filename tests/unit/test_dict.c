/* dict: property tests against a reference model, through growth, shrink
 * and incremental rehashing, and SCAN's guarantee while the table changes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/dict.h"

typedef struct item {
    dict_node node;
    int id;
    bool in_dict;
    char key[24];
    size_t klen;
} item;

static void item_key(const dict_node *n, const char **k, size_t *len)
{
    const item *it = (const item *)n;
    *k = it->key;
    *len = it->klen;
}

static const dict_type item_type = {.key = item_key};

#define N_ITEMS 20000
static item items[N_ITEMS];

static void make_items(void)
{
    for (int i = 0; i < N_ITEMS; i++) {
        items[i].id = i;
        items[i].in_dict = false;
        items[i].klen = (size_t)snprintf(items[i].key, sizeof(items[i].key), "key:%d", i);
    }
}

static void add(dict *d, int i)
{
    cr_assert(!items[i].in_dict);
    dict_add(d, &items[i].node);
    items[i].in_dict = true;
}

static void del(dict *d, int i)
{
    dict_node *n = dict_unlink(d, items[i].key, items[i].klen);
    cr_assert_eq(n, items[i].in_dict ? &items[i].node : NULL, "unlink %d", i);
    items[i].in_dict = false;
}

Test(dict, random_ops_match_reference_through_grow_and_shrink)
{
    make_items();
    dict d;
    dict_init(&d, &item_type, 42);
    kprng r;
    kprng_seed(&r, 7);
    uint64_t expect = 0;
    bool saw_rehash = false, saw_shrink = false;
    uint64_t max_size = 0;
    for (int step = 0; step < 200000; step++) {
        /* Phases: fill up, then drain, then mix, so the table grows and
         * shrinks through several rehashes. */
        int phase = (step / 50000) % 4;
        int addp = phase == 0 ? 90 : phase == 1 ? 10 : phase == 2 ? 70 : 20;
        int i = (int)kprng_below(&r, N_ITEMS);
        if ((int)kprng_below(&r, 100) < addp) {
            if (!items[i].in_dict) {
                add(&d, i);
                expect++;
            }
        } else {
            if (items[i].in_dict)
                expect--;
            del(&d, i);
        }
        int j = (int)kprng_below(&r, N_ITEMS);
        dict_node *f = dict_find(&d, items[j].key, items[j].klen);
        cr_assert_eq(f, items[j].in_dict ? &items[j].node : NULL, "find %d at step %d", j, step);
        cr_assert_eq(dict_size(&d), expect);
        saw_rehash |= dict_is_rehashing(&d);
        if (d.size[0] > max_size)
            max_size = d.size[0];
        if (d.size[0] < max_size / 4)
            saw_shrink = true;
        if (step % 997 == 0)
            cr_assert(dict_check(&d), "invariants at step %d", step);
    }
    cr_assert(saw_rehash);
    cr_assert(saw_shrink);
    cr_assert(dict_check(&d));
    dict_free(&d);
}

Test(dict, same_seed_same_order_other_seed_other_order)
{
    make_items();
    uint64_t seeds[3] = {1, 1, 2};
    int order[3][64];
    for (int s = 0; s < 3; s++) {
        dict d;
        dict_init(&d, &item_type, seeds[s]);
        for (int i = 0; i < 64; i++)
            items[i].in_dict = false;
        for (int i = 0; i < 64; i++)
            add(&d, i);
        while (dict_rehash(&d, 100))
            ;
        int k = 0;
        for (uint64_t b = 0; b < d.size[0]; b++)
            for (dict_node *e = d.table[0][b]; e; e = e->next)
                order[s][k++] = ((item *)e)->id;
        cr_assert_eq(k, 64);
        dict_free(&d);
    }
    cr_assert(memcmp(order[0], order[1], sizeof(order[0])) == 0);
    cr_assert(memcmp(order[0], order[2], sizeof(order[0])) != 0);
}

typedef struct seen {
    unsigned char *count;
} seen;

static void mark(void *ctx, dict_node *n)
{
    seen *s = ctx;
    s->count[((item *)n)->id]++;
}

/* Keys present for the whole scan must be returned, while other keys come
 * and go and the table grows and shrinks mid-scan. */
static void scan_under_churn(uint64_t seed, int base, int churn_add, int churn_del)
{
    make_items();
    dict d;
    dict_init(&d, &item_type, seed);
    kprng r;
    kprng_seed(&r, seed);
    /* Stable keys: ids [0, base). Churn keys: ids [base, N_ITEMS). */
    for (int i = 0; i < base; i++)
        add(&d, i);
    seen s = {calloc(N_ITEMS, 1)};
    uint64_t cursor = 0;
    int steps = 0;
    bool rehashed_mid_scan = false;
    do {
        cursor = dict_scan(&d, cursor, mark, &s);
        steps++;
        for (int k = 0; k < churn_add; k++) {
            int i = base + (int)kprng_below(&r, N_ITEMS - base);
            if (!items[i].in_dict)
                add(&d, i);
        }
        for (int k = 0; k < churn_del; k++) {
            int i = base + (int)kprng_below(&r, N_ITEMS - base);
            del(&d, i);
        }
        rehashed_mid_scan |= dict_is_rehashing(&d);
        cr_assert_lt(steps, 10000000);
    } while (cursor != 0);
    for (int i = 0; i < base; i++)
        cr_assert_geq(s.count[i], 1, "stable key %d missed by SCAN (seed %llu)", i,
                      (unsigned long long)seed);
    cr_assert(rehashed_mid_scan, "the scan never overlapped a rehash");
    free(s.count);
    dict_free(&d);
}

Test(dict, scan_returns_every_stable_key_while_growing)
{
    for (uint64_t seed = 1; seed <= 5; seed++)
        scan_under_churn(seed, 500, 20, 0);
}

Test(dict, scan_returns_every_stable_key_while_shrinking)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        make_items();
        dict d;
        dict_init(&d, &item_type, seed);
        for (int i = 0; i < N_ITEMS; i++)
            add(&d, i);
        while (dict_rehash(&d, 1000))
            ;
        seen s = {calloc(N_ITEMS, 1)};
        uint64_t cursor = 0;
        int next_del = 100; /* keep ids [0,100) for the whole scan */
        bool rehashed = false;
        do {
            cursor = dict_scan(&d, cursor, mark, &s);
            for (int k = 0; k < 400 && next_del < N_ITEMS; k++)
                del(&d, next_del++);
            rehashed |= dict_is_rehashing(&d);
        } while (cursor != 0);
        for (int i = 0; i < 100; i++)
            cr_assert_geq(s.count[i], 1, "stable key %d missed", i);
        cr_assert(rehashed);
        free(s.count);
        dict_free(&d);
    }
}

Test(dict, scan_mixed_churn)
{
    for (uint64_t seed = 11; seed <= 15; seed++)
        scan_under_churn(seed, 2000, 15, 12);
}

Test(dict, random_is_deterministic_and_covers)
{
    make_items();
    dict d;
    dict_init(&d, &item_type, 3);
    for (int i = 0; i < 100; i++)
        add(&d, i);
    /* A draw does a rehash step; start from a settled table so that two
     * equal PRNGs must draw the same entries. */
    while (dict_rehash(&d, 100))
        ;
    kprng a, b;
    kprng_seed(&a, 9);
    kprng_seed(&b, 9);
    unsigned char hit[100] = {0};
    for (int k = 0; k < 5000; k++) {
        dict_node *x = dict_random(&d, &a);
        dict_node *y = dict_random(&d, &b);
        cr_assert_eq(x, y);
        cr_assert_not_null(x);
        hit[((item *)x)->id] = 1;
    }
    for (int i = 0; i < 100; i++)
        cr_assert(hit[i], "key %d never drawn", i);
    dict_free(&d);
    dict_init(&d, &item_type, 3);
    cr_assert_null(dict_random(&d, &a));
    dict_free(&d);
}

Test(dict, replace_node_keeps_position)
{
    make_items();
    dict d;
    dict_init(&d, &item_type, 5);
    for (int i = 0; i < 50; i++)
        add(&d, i);
    item copy = items[17];
    dict_replace_node(&d, &items[17].node, &copy.node);
    cr_assert_eq(dict_find(&d, items[17].key, items[17].klen), &copy.node);
    cr_assert(dict_check(&d));
    cr_assert_eq(dict_size(&d), 50);
    dict_free(&d);
}
