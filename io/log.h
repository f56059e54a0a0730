/* io/log: one line per event, with time, level and key=value fields.
 *
 *     log_msg(LOG_NOTICE, "Ready to accept connections", "port=%d", port);
 *
 * Text lines look like Redis's ("pid:M 25 Nov 2026 19:20:00.123 * msg") with
 * the fields after the message; JSON lines carry the same as an object.
 * Levels are Redis's: debug verbose notice warning. */
#ifndef KEEL_IO_LOG_H
#define KEEL_IO_LOG_H

#include <stdbool.h>

enum { LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3 };

/* Where and what to log: path NULL or "" means stdout. Returns false (and
 * keeps the old settings) if the file cannot be opened. */
bool log_setup(const char *path, int level, bool json);
/* JSON lines (true) or text lines (false), keeping file and level. */
void log_set_json(bool json);
/* The lowest level written, keeping file and format. */
void log_set_level(int level);
int log_get_level(void);
/* Appends to path from now on (NULL or "": stdout), keeping level and
 * format; false if the file cannot be opened. */
bool log_open(const char *path);

/* "debug" "verbose" "notice" "warning" -> level, or -1. */
int log_level_parse(const char *name);

/* fields: printf format of space-separated key=value pairs, or NULL. */
void log_msg(int level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

#endif
