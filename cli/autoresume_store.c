/*
 * autoresume-store - list or clear the per-user session store. Run by
 * `autoresume --list` and `autoresume --clear [HOST[:PORT]]`. Never prints
 * secrets: only labels, protocol, ages and counts, and for two rows of one
 * server the settings in which their keys differ (key_differences).
 *
 *   autoresume-store list
 *   autoresume-store clear [HOST|HOST:PORT]
 */
#include "ar_config.h"
#include "ar_env.h"
#include "ar_key.h"
#include "ar_log.h"
#include "ar_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void duration(long long s, char *out, size_t cap)
{
    if (s < 0)
        snprintf(out, cap, "-");
    else if (s < 120)
        snprintf(out, cap, "%llds", s);
    else if (s < 7200)
        snprintf(out, cap, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(out, cap, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, cap, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* One row of --list, copied out of store_list's callback. */
struct row {
    struct ar_store_info info;
    char *label, *key;
};

struct rows {
    struct row *v;
    size_t n, cap;
    int oom;
};

static void collect_row(const struct ar_store_info *info, void *arg)
{
    struct rows *r = arg;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        struct row *p = realloc(r->v, ncap * sizeof *p);
        if (p == NULL) {
            r->oom = 1;
            return;
        }
        r->v = p;
        r->cap = ncap;
    }
    struct row *w = &r->v[r->n];
    w->info = *info;
    w->label = strdup(info->label);
    w->key = strdup(info->key ? info->key : "");
    if (w->label == NULL || w->key == NULL) {
        free(w->label);
        free(w->key);
        r->oom = 1;
        return;
    }
    w->info.label = w->label;
    w->info.key = w->key;
    r->n++;
}

/*
 * How row i's key differs from the other rows of the same server and
 * library (key_differences), into out[cap]; "" when it is the only one.
 */
static void row_differences(const struct rows *r, size_t i, char *out, size_t cap)
{
    const char **others = malloc(r->n * sizeof *others);
    size_t n = 0;
    out[0] = '\0';
    if (others == NULL)
        return;
    for (size_t j = 0; j < r->n; j++)
        if (j != i && strcmp(r->v[j].label, r->v[i].label) == 0 &&
            strcmp(r->v[j].info.library, r->v[i].info.library) == 0)
            others[n++] = r->v[j].key;
    key_differences(r->v[i].key, others, n, out, cap);
    free(others);
}

/* s as printed: a store file is read as it is, so a byte that is not
 * printable ASCII (a terminal's control sequence) is shown as '?'. */
static const char *shown(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    return out;
}

static int cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c != 0 ? c : strcmp(x->info.library, y->info.library);
}

static void print_rows(struct rows *r)
{
    char age[32], exp[32], diff[256], label[256], library[24], shown_diff[256];
    int any = 0;
    qsort(r->v, r->n, sizeof r->v[0], cmp_rows); /* one server's rows side by side */
    for (size_t i = 0; i < r->n && !any; i++) {
        row_differences(r, i, diff, sizeof diff);
        any = diff[0] != '\0';
    }
    printf("%-40s %-12s %-8s %8s %10s %7s %8s%s\n", "SERVER", "LIBRARY", "PROTOCOL", "AGE",
           "EXPIRES IN", "TICKETS", "SESSIONS", any ? "  DIFFERS IN" : "");
    for (size_t i = 0; i < r->n; i++) {
        const struct ar_store_info *info = &r->v[i].info;
        duration(info->age, age, sizeof age);
        duration(info->expires_in, exp, sizeof exp);
        row_differences(r, i, diff, sizeof diff);
        printf("%-40s %-12s %-8s %8s %10s %7u %8u%s%s\n", shown(info->label, label, sizeof label),
               shown(info->library, library, sizeof library), log_protocol_name(info->version),
               age, exp, info->tickets, info->sessions, diff[0] ? "  " : "",
               shown(diff, shown_diff, sizeof shown_diff));
    }
}

int main(int argc, char **argv)
{
    struct ar_config cfg;
    char problems[512], dir[4096];
    const char *why = NULL;

    if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "clear") != 0) ||
        (strcmp(argv[1], "list") == 0 && argc != 2) || argc > 3) {
        fprintf(stderr, "usage: autoresume-store list | clear [HOST[:PORT]]\n");
        return 2;
    }
    if (config_parse(&cfg, secure_getenv, problems, sizeof problems) != 0)
        fprintf(stderr, "autoresume: %s\n", problems);
    log_open(cfg.log_level, cfg.log_file); /* what the store drops on the way, when asked */
    if (cfg.store_off) {
        fprintf(stderr, "autoresume: the session store is off (%s=off)\n", AR_ENV_CACHE);
        return 1;
    }
    if (cfg.store_dir != NULL) {
        if ((size_t)snprintf(dir, sizeof dir, "%s", cfg.store_dir) >= sizeof dir) {
            fprintf(stderr, "autoresume: %s is too long\n", AR_ENV_CACHE);
            return 1; /* cut short, it would name another directory */
        }
    } else if (store_default_dir(cfg.xdg_runtime_dir, dir, sizeof dir) != 0)
        return 1;
    struct ar_store_limits lim = {cfg.max_hosts, cfg.tickets, cfg.store_bytes};
    struct ar_store *st = store_open(dir, &lim, &why);
    if (st == NULL) {
        fprintf(stderr, "autoresume: cannot use %s: %s\n", dir, why);
        return 1;
    }
    int rc = 0;
    if (strcmp(argv[1], "list") == 0) {
        struct rows r = {NULL, 0, 0, 0};
        if (store_list(st, (int64_t)time(NULL), collect_row, &r) < 0 || r.oom)
            rc = 1;
        else if (r.n == 0)
            printf("no sessions stored in %s\n", dir);
        else
            print_rows(&r);
        for (size_t i = 0; i < r.n; i++) {
            free(r.v[i].label);
            free(r.v[i].key);
        }
        free(r.v);
    } else {
        int n = store_clear(st, argc == 3 ? argv[2] : NULL);
        if (n < 0)
            rc = 1;
        else
            printf("removed %d server%s from %s\n", n, n == 1 ? "" : "s", dir);
    }
    store_close(st);
    return rc;
}
