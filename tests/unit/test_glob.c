/* Glob matching with Redis's stringmatchlen rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/util/glob.h"

static bool m(const char *p, const char *s) { return glob_match(p, strlen(p), s, strlen(s), false); }
static bool mi(const char *p, const char *s) { return glob_match(p, strlen(p), s, strlen(s), true); }

Test(glob, literals_and_wildcards)
{
    cr_assert(m("abc", "abc"));
    cr_assert(!m("abc", "abd"));
    cr_assert(!m("abc", "abcd"));
    /* As Redis's stringmatchlen: an empty string matches no pattern but
     * the empty one (KEYS * special-cases "*" itself). */
    cr_assert(!m("*", ""));
    cr_assert(m("*", "anything"));
    cr_assert(m("a*", "a"));
    cr_assert(m("a*c", "abbbc"));
    cr_assert(!m("a*c", "abbbd"));
    cr_assert(m("h?llo", "hello"));
    cr_assert(!m("h?llo", "hllo"));
    cr_assert(m("**a**", "xxaxx"));
    cr_assert(!m("?", ""));
    cr_assert(m("", ""));
    cr_assert(!m("", "a"));
}

Test(glob, classes)
{
    cr_assert(m("h[ae]llo", "hallo"));
    cr_assert(!m("h[ae]llo", "hillo"));
    cr_assert(m("h[^e]llo", "hallo"));
    cr_assert(!m("h[^e]llo", "hello"));
    cr_assert(m("h[a-b]llo", "hbllo"));
    cr_assert(m("h[b-a]llo", "hallo")); /* ranges either way round */
    cr_assert(!m("h[a-b]llo", "hcllo"));
    cr_assert(m("[\\]]", "]"));
    cr_assert(m("[a\\-z]", "-"));
    /* An unterminated class matches what it has seen, like Redis. */
    cr_assert(m("[ab", "a"));
    cr_assert(!m("[ab", "c"));
}

Test(glob, escapes_and_case)
{
    cr_assert(m("a\\*b", "a*b"));
    cr_assert(!m("a\\*b", "axb"));
    cr_assert(m("a\\?", "a?"));
    cr_assert(m("trailing\\", "trailing\\"));
    cr_assert(!m("ABC", "abc"));
    cr_assert(mi("ABC", "abc"));
    cr_assert(mi("[A-C]x", "bX"));
}

Test(glob, binary_safe)
{
    const char s[] = {'a', 0, 'b'};
    cr_assert(glob_match("a?b", 3, s, 3, false));
    cr_assert(glob_match("*b", 2, s, 3, false));
    cr_assert(!glob_match("a", 1, s, 3, false));
}

Test(glob, pathological_pattern_finishes)
{
    /* Exponential without the skip-longer-matches cut. */
    char s[201];
    memset(s, 'a', 200);
    s[200] = 0;
    cr_assert(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s));
}
