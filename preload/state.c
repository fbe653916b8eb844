/*
 * state.c - the configuration, the table and the store, shared by the
 * OpenSSL and GnuTLS glue. See ar_state.h.
 */
#include "ar_state.h"
#include "ar_config.h"
#include "ar_log.h"
#include "ar_stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Tickets per key kept in the process's table when there is a store. */
#define TABLE_TICKET_SHARE 1

static struct ar_cache *table;
static atomic_uint connections; /* offers looked for (state_take) in this process */
static struct ar_store *store;
static pid_t owner;             /* the process the table's tickets belong to */
static int ready;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The table's lock is taken across fork(); the child drops its tickets. */
static void fork_prepare(void)
{
    cache_fork_prepare(table);
}

static void fork_parent(void)
{
    cache_fork_parent(table);
}

static void fork_child(void)
{
    cache_fork_child(table);
    owner = getpid();
    atomic_store(&connections, 0); /* a child is a new process: its first ticket goes out at once */
}

static void store_init(const struct ar_config *cfg)
{
    char dir[4096];
    const char *why = NULL;
    struct ar_store_limits lim = {cfg->max_hosts, cfg->tickets, cfg->store_bytes};

    if (cfg->store_off)
        return;
    if (cfg->store_dir != NULL)
        snprintf(dir, sizeof dir, "%s", cfg->store_dir);
    else if (store_default_dir(cfg->xdg_runtime_dir, dir, sizeof dir) != 0)
        return;
    store = store_open(dir, &lim, &why);
    if (store == NULL)
        log_warn("session store %s not used: %s; sessions stay in this process", dir, why);
    else
        log_debug("session store %s", dir);
}

static void print_stats(void)
{
    char line[900];
    stats_format(line, sizeof line);
    log_always("%s", line);
}

/* At a normal exit: the tickets this process kept but did not use go to the
 * store, for the next run. A process killed before loses only its own. */
/* An exit spends at most this long publishing (a process that talked to many servers). */
#define PUBLISH_BUDGET_MS 100

struct publish {
    int64_t now;
    long long deadline_ms;
    unsigned skipped;
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void publish_one(const char *key, const char *label, struct ar_session *s, void *arg)
{
    struct publish *p = arg;
    if (monotonic_ms() > p->deadline_ms) {
        p->skipped++;
        s->native = NULL;
        return;
    }
    /* The bytes, if the ticket has only its parsed form: the glue declines
     * when its library is shut down already (its own atexit handler ran
     * first), and the ticket is not published then. */
    int encoded = session_encode(s, 1) == 0;
    /* The parsed objects are left alone, as the process is ending (freeing
     * them after the library's shutdown would not be safe). */
    s->native = NULL;
    if (encoded && store_put(store, key, label, s, p->now) == 0)
        log_debug("%s: ticket published to the store at exit", label);
}

static void publish_tickets(void)
{
    /* Not in a process made without atfork handlers (_Fork, clone): the
     * tickets it holds are its parent's, which publishes them itself. */
    if (getpid() != owner)
        return;
    struct publish p = {now_seconds(), monotonic_ms() + PUBLISH_BUDGET_MS, 0};
    cache_drain_tickets(table, publish_one, &p);
    if (p.skipped > 0)
        log_debug("%u tickets not published at exit (out of time)", p.skipped);
}

void state_publish_now(void)
{
    if (ready && store != NULL)
        publish_tickets();
}

static void state_init(void)
{
    const struct ar_config *cfg = config_get();
    if (cfg->disabled)
        return;
    table = cache_new(cfg->max_hosts, cfg->tickets);
    if (table == NULL) {
        log_error("cannot set up the session table (out of memory?); resumption off");
        return;
    }
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        log_error("pthread_atfork failed; resumption off");
        return;
    }
    owner = getpid();
    store_init(cfg);
    if (store != NULL)
        atexit(publish_tickets);
    if (cfg->stats)
        atexit(print_stats);
    ready = 1;
}

int state_ready(void)
{
    pthread_once(&init_once, state_init);
    return ready;
}

struct ar_cache *state_table(void)
{
    return table;
}

struct ar_store *state_store(void)
{
    return store;
}

int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

int state_keep(const char *key, const char *label, struct ar_session *s, int64_t now)
{
    if (s->single_use && store != NULL &&
        atomic_load_explicit(&connections, memory_order_relaxed) >= 2) {
        /* A process making connection after connection: its newest ticket
         * stays in it, for its next connection (no file system work per
         * connection: a resumed TLS 1.3 connection brings one ticket); older
         * ones go to the store at once, the kept one at a normal exit. A
         * process's first connection publishes at once, as a one-shot run
         * may end without exit handlers (_exit). */
        struct ar_session spilled;
        struct ar_session copy = *s;
        memset(s, 0, sizeof *s);
        int rc = cache_keep_ticket(table, key, label, &copy, now, TABLE_TICKET_SHARE, &spilled);
        if (session_present(&spilled)) {
            if (session_encode(&spilled, 0) == 0) /* else it is not published: lost */
                store_put(store, key, label, &spilled, now);
            session_clear(&spilled);
        }
        return rc;
    }
    /* A session that cannot be made bytes for the store (out of memory) is
     * not kept at all, as when capture itself could not serialize it. */
    if (store != NULL && session_encode(s, 0) != 0) {
        session_clear(s);
        return -1;
    }
    int stored = store != NULL && store_put(store, key, label, s, now) == 0;
    if (stored && s->single_use) {
        session_clear(s);
        return 0;
    }
    return cache_put(table, key, s, now) == 0 || stored ? 0 : -1;
}

int state_take(const char *key, struct ar_session *s, int *from_store)
{
    int64_t now = now_seconds();
    atomic_fetch_add_explicit(&connections, 1, memory_order_relaxed);
    int found = cache_take(table, key, now, s);
    *from_store = 0;
    if (found == 0 && store != NULL) {
        found = store_take(store, key, now, s);
        *from_store = found > 0;
    }
    return found;
}

void state_drop(const char *key)
{
    cache_drop(table, key);
    if (store != NULL)
        store_drop(store, key);
}

void state_drop_born(const char *key, int64_t born)
{
    cache_drop_born(table, key, born);
    if (store != NULL)
        store_drop_born(store, key, born);
}

void state_note_offer(const char *label, int program_session, const char *why_not)
{
    stats_add(AR_STAT_CONNECTIONS);
    if (program_session)
        stats_add(AR_STAT_PROGRAM);
    else if (why_not != NULL)
        stats_not_offered(why_not);
    else
        stats_add(AR_STAT_OFFERED);
    if (why_not != NULL)
        log_debug("%s: not offered: %s", label[0] ? label : "?", why_not);
}

int state_note_handshake(const char *label, const char *version, int program_session,
                         int offered, int resumed, const char *why_not)
{
    if (label[0] == '\0')
        label = "?";
    if (program_session) {
        log_info("%s %s %s", label, version,
                 resumed ? "resumed (the program's own session)"
                         : "full handshake (program's session refused)");
    } else if (!offered) {
        log_info("%s %s full handshake (%s)", label, version, why_not ? why_not : "not offered");
    } else if (resumed) {
        stats_add(AR_STAT_RESUMED);
        log_info("%s %s resumed", label, version);
    } else {
        stats_add(AR_STAT_REFUSED);
        log_info("%s %s full handshake (refused by server)", label, version);
        return 1;
    }
    return 0;
}
