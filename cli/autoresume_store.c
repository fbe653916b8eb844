/*
 * autoresume-store - list or clear the per-user session store. Run by
 * `autoresume --list` and `autoresume --clear [HOST[:PORT]]`. Never prints
 * secrets: only labels, protocol, ages and counts.
 *
 *   autoresume-store list
 *   autoresume-store clear [HOST|HOST:PORT]
 */
#include "ar_config.h"
#include "ar_env.h"
#include "ar_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *version_name(int v)
{
    switch (v) {
    case 0x0304: return "TLSv1.3";
    case 0x0303: return "TLSv1.2";
    case 0x0302: return "TLSv1.1";
    case 0x0301: return "TLSv1";
    default: return "?";
    }
}

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

static void print_row(const struct ar_store_info *info, void *arg)
{
    char age[32], exp[32];
    int *rows = arg;
    if ((*rows)++ == 0)
        printf("%-40s %-12s %-8s %8s %10s %7s %8s\n", "SERVER", "LIBRARY", "PROTOCOL", "AGE",
               "EXPIRES IN", "TICKETS", "SESSIONS");
    duration(info->age, age, sizeof age);
    duration(info->expires_in, exp, sizeof exp);
    printf("%-40s %-12s %-8s %8s %10s %7u %8u\n", info->label, info->library,
           version_name(info->version), age, exp, info->tickets, info->sessions);
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
    if (cfg.store_off) {
        fprintf(stderr, "autoresume: the session store is off (%s=off)\n", AR_ENV_CACHE);
        return 1;
    }
    if (cfg.store_dir != NULL)
        snprintf(dir, sizeof dir, "%s", cfg.store_dir);
    else if (store_default_dir(cfg.xdg_runtime_dir, dir, sizeof dir) != 0)
        return 1;
    struct ar_store_limits lim = {cfg.max_hosts, cfg.tickets, cfg.store_bytes};
    struct ar_store *st = store_open(dir, &lim, &why);
    if (st == NULL) {
        fprintf(stderr, "autoresume: cannot use %s: %s\n", dir, why);
        return 1;
    }
    int rc = 0;
    if (strcmp(argv[1], "list") == 0) {
        int rows = 0;
        if (store_list(st, (int64_t)time(NULL), print_row, &rows) < 0)
            rc = 1;
        else if (rows == 0)
            printf("no sessions stored in %s\n", dir);
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
