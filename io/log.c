/* io/log: see log.h. */
#define _GNU_SOURCE
#include "io/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *log_file;
static int log_level = LOG_NOTICE;
static bool log_json;

bool log_setup(const char *path, int level, bool json)
{
    FILE *f = NULL;
    if (path && *path) {
        f = fopen(path, "a");
        if (f == NULL)
            return false;
        setvbuf(f, NULL, _IOLBF, 0);
    }
    if (log_file && log_file != stdout)
        fclose(log_file);
    log_file = f;
    log_level = level;
    log_json = json;
    return true;
}

void log_set_json(bool json) { log_json = json; }

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

bool log_open(const char *path)
{
    return log_setup(path, log_level, log_json);
}

int log_level_parse(const char *name)
{
    static const char *names[] = {"debug", "verbose", "notice", "warning"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* Writes s as a JSON string body. */
static void json_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

void log_msg(int level, const char *msg, const char *fields, ...)
{
    if (level < log_level)
        return;
    FILE *f = log_file ? log_file : stdout;
    char fbuf[1024] = "";
    if (fields) {
        va_list ap;
        va_start(ap, fields);
        vsnprintf(fbuf, sizeof(fbuf), fields, ap);
        va_end(ap);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    if (log_json)
        gmtime_r(&tv.tv_sec, &tm); /* ISO 8601 in UTC ("Z") */
    else
        localtime_r(&tv.tv_sec, &tm);
    static const char *level_names[] = {"debug", "verbose", "notice", "warning"};
    flockfile(f); /* one whole line, whichever thread logs (the log writer does) */
    if (log_json) {
        char ts[64];
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(f, "{\"time\":\"%s.%03dZ\",\"pid\":%d,\"level\":\"%s\",\"msg\":\"", ts,
                (int)(tv.tv_usec / 1000), (int)getpid(), level_names[level]);
        json_str(f, msg);
        fputs("\",\"fields\":\"", f);
        json_str(f, fbuf);
        fputs("\"}\n", f);
    } else {
        char ts[64];
        strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
        static const char marks[] = ".-*#";
        fprintf(f, "%d:M %s.%03d %c %s%s%s\n", (int)getpid(), ts, (int)(tv.tv_usec / 1000),
                marks[level], msg, fbuf[0] ? " " : "", fbuf);
    }
    fflush(f);
    funlockfile(f);
}
