/*
 * Unit tests for state.c with sessions kept as a native form only (the
 * OpenSSL glue's capture): the bytes are made by the encode op exactly when
 * the store needs them, never with the store off. Each test is its own
 * process (Criterion), so state_init runs afresh with the test's environment.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ar_env.h"
#include "ar_state.h"

static char base[64], sdir[128];

/* The forked children below exit() to run the exit handler; in the ASan
 * build LeakSanitizer would then scan a process missing the parent's other
 * threads (Criterion's) and warn. Their leaks are the parent's anyway. */
static int forked_child;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return forked_child; }
static int encodes, encode_fails, finals;

static void *fake_ref(void *p) { return p; }
static void fake_unref(void *p) { (void)p; }
static int fake_encode(void *p, struct ar_blob *out, int final)
{
    encodes++;
    finals += final != 0;
    out->data = NULL;
    out->len = 0;
    if (encode_fails)
        return -1;
    out->len = strlen(p) + 1;
    out->data = (unsigned char *)strdup(p);
    return 0;
}
static const struct ar_native_ops ops = {fake_ref, fake_unref, fake_encode};

static void start(const char *cache)
{
    strcpy(base, "/tmp/ar-test-state-XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    snprintf(sdir, sizeof sdir, "%s/store", base);
    setenv(AR_ENV_CACHE, cache != NULL ? cache : sdir, 1);
    unsetenv(AR_ENV_DISABLE);
    cache_set_native_ops(&ops);
    cr_assert(state_ready());
    cr_assert_eq(state_store() != NULL, cache == NULL);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void teardown(void)
{
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(state, .fini = teardown);

static struct ar_session native_ticket(char *tag)
{
    struct ar_session s = {0};
    int64_t now = now_seconds();
    s.native = tag;
    s.chain.len = 6;
    s.chain.data = (unsigned char *)strdup("chain");
    s.born = now - 5;
    s.expires = now + 3600;
    s.single_use = 1;
    s.version = 0x0304;
    return s;
}

/* The store's ticket for key: its bytes' text into tag (1), or 0. */
static int store_has(const char *key, char *tag, size_t cap)
{
    struct ar_session s;
    int rc = store_take(state_store(), key, now_seconds(), &s);
    if (rc == 1) {
        cr_assert_not_null(s.der.data);
        snprintf(tag, cap, "%s", (const char *)s.der.data);
        cr_assert_null(s.native, "the store holds bytes only");
        session_clear(&s);
    }
    return rc;
}

Test(state, first_connection_ticket_encoded_and_published)
{
    static char tag[] = "ticket-1";
    char got[32];
    start(NULL);
    struct ar_session s = native_ticket(tag);
    cr_assert_eq(state_keep("k", "h:443", &s, now_seconds()), 0);
    cr_assert_eq(encodes, 1);
    cr_assert_eq(finals, 0);
    cr_assert_eq(store_has("k", got, sizeof got), 1);
    cr_assert_str_eq(got, "ticket-1");
    size_t n;
    cache_count(state_table(), &n);
    cr_assert_eq(n, 0, "a published ticket is not kept in the table too");
}

Test(state, store_off_never_encodes)
{
    static char tag[] = "ticket-off";
    start("off");
    struct ar_session s = native_ticket(tag);
    cr_assert_eq(state_keep("k", "h:443", &s, now_seconds()), 0);
    int from_store = 1;
    cr_assert_eq(state_take("k", &s, &from_store), 1);
    cr_assert_eq(from_store, 0);
    cr_assert_eq(s.native, tag);
    cr_assert_eq(s.der.len, 0);
    session_clear(&s);
    cr_assert_eq(encodes, 0);
}

Test(state, encode_failure_keeps_nothing)
{
    static char tag[] = "ticket-fail";
    char got[32];
    start(NULL);
    encode_fails = 1;
    struct ar_session s = native_ticket(tag);
    cr_assert_eq(state_keep("k", "h:443", &s, now_seconds()), -1);
    cr_assert_eq(store_has("k", got, sizeof got), 0);
    size_t n;
    cache_count(state_table(), &n);
    cr_assert_eq(n, 0);
}

/* From its second connection on a process keeps its newest ticket: no
 * encoding until it spills, or until exit publishes it. */
Test(state, kept_ticket_encoded_when_spilled_and_at_exit)
{
    static char t1[] = "kept-1", t2[] = "kept-2", t3[] = "kept-3";
    char got[32];
    struct ar_session s;
    int from_store;
    start(NULL);
    cr_assert_eq(state_take("k", &s, &from_store), 0);
    cr_assert_eq(state_take("k", &s, &from_store), 0);
    s = native_ticket(t1);
    cr_assert_eq(state_keep("k", "h:443", &s, now_seconds()), 0);
    cr_assert_eq(encodes, 0, "the kept ticket stays a native form");
    s = native_ticket(t2);
    cr_assert_eq(state_keep("k", "h:443", &s, now_seconds()), 0);
    cr_assert_eq(encodes, 1, "the spilled one is encoded for the store");
    cr_assert_eq(finals, 0);
    cr_assert_eq(store_has("k", got, sizeof got), 1);
    cr_assert_str_eq(got, "kept-1");

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        forked_child = 1;
        /* A child is a new process: its first ticket goes out at once, so
         * look twice first; its exit publishes what it kept. */
        struct ar_session c;
        int fs;
        state_take("k2", &c, &fs);
        state_take("k2", &c, &fs);
        c = native_ticket(t3);
        int ok = state_keep("k2", "h:443", &c, now_seconds()) == 0 && encodes == 1;
        exit(ok ? 0 : 3); /* the exit handler encodes (final) and publishes */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(store_has("k2", got, sizeof got), 1, "the child's kept ticket published at exit");
    cr_assert_str_eq(got, "kept-3");
}

/* The exit handler asks with `final` set, and a refusal (the library shut
 * down first) means the ticket is not published. */
static int refuse_final(void *p, struct ar_blob *out, int final)
{
    if (final) {
        out->data = NULL;
        out->len = 0;
        return -1;
    }
    return fake_encode(p, out, final);
}

Test(state, exit_publish_skipped_when_encode_refuses)
{
    static const struct ar_native_ops refusing = {fake_ref, fake_unref, refuse_final};
    static char t1[] = "never";
    char got[32];
    start(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        forked_child = 1;
        struct ar_session c;
        int fs;
        cache_set_native_ops(&refusing);
        state_take("k3", &c, &fs);
        state_take("k3", &c, &fs);
        c = native_ticket(t1);
        exit(state_keep("k3", "h:443", &c, now_seconds()) == 0 ? 0 : 3);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(store_has("k3", got, sizeof got), 0);
}
