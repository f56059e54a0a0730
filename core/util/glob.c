/* Glob matching; see glob.h. Written after Redis's stringmatchlen, with
 * explicit bounds where Redis relies on a NUL after the pattern. */
#include "core/util/glob.h"

#include <ctype.h>

/* Redis compares `char`s (signed here) for ranges: keep that. */
static int fold(int c, bool nocase) { return nocase ? tolower(c) : c; }

static bool match_impl(const char *p, size_t plen, const char *s, size_t slen, bool nocase,
                       bool *skip_longer)
{
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1)
                return true;
            while (slen) {
                if (match_impl(p + 1, plen - 1, s, slen, nocase, skip_longer))
                    return true;
                if (*skip_longer)
                    return false;
                s++;
                slen--;
            }
            /* The rest of the pattern matches nowhere in the rest of the
             * string: earlier stars cannot help by matching more. */
            *skip_longer = true;
            return false;
        case '?':
            s++;
            slen--;
            break;
        case '[': {
            p++;
            plen--;
            bool negate = plen > 0 && p[0] == '^';
            if (negate) {
                p++;
                plen--;
            }
            bool matched = false;
            for (;;) {
                if (plen >= 2 && p[0] == '\\') {
                    p++;
                    plen--;
                    if (p[0] == s[0])
                        matched = true;
                } else if (plen == 0) {
                    /* Unterminated class: step back so the pattern
                     * advance below lands at its end. */
                    p--;
                    plen++;
                    break;
                } else if (p[0] == ']') {
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    int lo = p[0], hi = p[2], c = s[0];
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                    lo = fold(lo, nocase);
                    hi = fold(hi, nocase);
                    c = fold(c, nocase);
                    p += 2;
                    plen -= 2;
                    if (c >= lo && c <= hi)
                        matched = true;
                } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
                    matched = true;
                }
                p++;
                plen--;
            }
            if (negate)
                matched = !matched;
            if (!matched)
                return false;
            s++;
            slen--;
            break;
        }
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (fold(p[0], nocase) != fold(s[0], nocase))
                return false;
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen && p[0] == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

bool glob_match(const char *pattern, size_t plen, const char *s, size_t slen, bool nocase)
{
    bool skip_longer = false;
    return match_impl(pattern, plen, s, slen, nocase, &skip_longer);
}
