/*
 * config.c - environment parsing. Everything is read through secure_getenv so
 * setuid programs run with defaults; odd values fall back to defaults.
 */
#include "ar_config.h"
#include "ar_env.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

static void note(char *problems, size_t cap, const char *name, const char *value, const char *why)
{
    size_t used = strlen(problems);
    if (used >= cap)
        return;
    snprintf(problems + used, cap - used, "%s%s=\"%.64s\" ignored (%s)",
             used ? "; " : "", name, value, why);
}

/* Parse an unsigned number in [min, limit]; 0 on success. */
static int parse_ulong(const char *text, unsigned long min, unsigned long limit, unsigned long *out)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > limit)
        return -1;
    *out = v;
    return 0;
}

static int parse_count(const char *text, unsigned limit, unsigned *out)
{
    unsigned long v;
    if (parse_ulong(text, 1, limit, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_flag(const char *text)
{
    return text != NULL && text[0] != '\0' && strcmp(text, "0") != 0;
}

int config_parse(struct ar_config *cfg, config_getenv_fn get, char *problems, size_t cap)
{
    int bad = 0;
    const char *v;

    if (cap > 0)
        problems[0] = '\0';
    cfg->disabled = parse_flag(get(AR_ENV_DISABLE));
    cfg->stats = parse_flag(get(AR_ENV_STATS));
    cfg->log_level = AR_LOG_OFF;
    cfg->log_file = NULL;
    cfg->max_hosts = AR_DEFAULT_MAX_HOSTS;
    cfg->tickets = AR_DEFAULT_TICKETS;
    cfg->store_off = 0;
    cfg->store_dir = NULL;
    cfg->xdg_runtime_dir = get(AR_ENV_XDG_RUNTIME_DIR);
    cfg->store_bytes = AR_DEFAULT_CACHE_BYTES;

    if ((v = get(AR_ENV_LOG)) != NULL && log_parse_level(v, &cfg->log_level) != 0) {
        note(problems, cap, AR_ENV_LOG, v, "want off, error, warn, info or debug");
        cfg->log_level = AR_LOG_WARN; /* the user wanted logs: show the problem */
        bad++;
    }
    if ((v = get(AR_ENV_LOG_FILE)) != NULL && v[0] != '\0')
        cfg->log_file = v;
    if ((v = get(AR_ENV_MAX_HOSTS)) != NULL &&
        parse_count(v, AR_LIMIT_MAX_HOSTS, &cfg->max_hosts) != 0) {
        note(problems, cap, AR_ENV_MAX_HOSTS, v, "want a number from 1 to 1000000");
        bad++;
    }
    if ((v = get(AR_ENV_TICKETS)) != NULL &&
        parse_count(v, AR_LIMIT_TICKETS, &cfg->tickets) != 0) {
        note(problems, cap, AR_ENV_TICKETS, v, "want a number from 1 to 64");
        bad++;
    }
    if ((v = get(AR_ENV_CACHE)) != NULL && v[0] != '\0') {
        if (strcmp(v, "off") == 0) {
            cfg->store_off = 1;
        } else if (v[0] == '/') {
            cfg->store_dir = v;
        } else {
            note(problems, cap, AR_ENV_CACHE, v, "want off or an absolute directory; store off");
            cfg->store_off = 1;
            bad++;
        }
    }
    if ((v = get(AR_ENV_CACHE_BYTES)) != NULL &&
        parse_ulong(v, 65536, AR_LIMIT_CACHE_BYTES, &cfg->store_bytes) != 0) {
        note(problems, cap, AR_ENV_CACHE_BYTES, v, "want a number from 65536 to 1073741824");
        bad++;
    }
    return bad;
}

static struct ar_config the_config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void config_load(void)
{
    char problems[512];
    int saved = errno;
    int bad = config_parse(&the_config, secure_getenv, problems, sizeof problems);
    /* A setuid program would write into its owner's store: keep it out. */
    if (getauxval(AT_SECURE))
        the_config.store_off = 1;
    log_open(the_config.log_level,
             the_config.log_level != AR_LOG_OFF || the_config.stats ? the_config.log_file : NULL);
    if (bad)
        log_warn("%s", problems);
    errno = saved;
}

const struct ar_config *config_get(void)
{
    pthread_once(&config_once, config_load);
    return &the_config;
}
