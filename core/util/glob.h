/* Glob-style matching with Redis's stringmatchlen rules (KEYS, SCAN MATCH,
 * CONFIG GET, PUBSUB CHANNELS, PSUBSCRIBE): `*` `?` `[abc]` `[^a-z]`
 * (ranges either way round), `\` escapes, optional case folding. Binary
 * safe. The "skip longer matches" cut keeps `*a*a*a*b` patterns from going
 * exponential, as in Redis 7. */
#ifndef KEEL_CORE_UTIL_GLOB_H
#define KEEL_CORE_UTIL_GLOB_H

#include <stdbool.h>
#include <stddef.h>

bool glob_match(const char *pattern, size_t plen, const char *s, size_t slen, bool nocase);

#endif
