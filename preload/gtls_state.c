/*
 * gtls_state.c - the session and credentials tables of the GnuTLS side.
 */
#include "gtls_state.h"
#include "ar_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct conn_entry {
    gnutls_session_t s;
    struct gtls_conn c;
    UT_hash_handle hh;
};

struct creds_entry {
    gnutls_certificate_credentials_t cred;
    gnutls_certificate_verify_function *vfn;
    int picks_cert;
    int limits_set; /* gnutls_certificate_set_verify_limits */
    unsigned max_bits, max_depth;
    UT_hash_handle hh;
};

struct prio_entry {
    gnutls_priority_t cache;
    char *text;
    UT_hash_handle hh;
};

static struct conn_entry *conns;
static struct prio_entry *prios;
static struct creds_entry *creds;
static _Atomic unsigned long nconns;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int ready;
static _Atomic int given_up;

static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&lock);
}

static void gtls_init(void)
{
    if (!state_ready() || gtls_load() != GTLS_READY)
        return;
    if (pthread_atfork(fork_prepare, fork_release, fork_release) != 0) {
        log_error("pthread_atfork failed; GnuTLS resumption off");
        return;
    }
    ready = 1;
}

int gtls_ready(void)
{
    pthread_once(&init_once, gtls_init);
    return ready && !atomic_load_explicit(&given_up, memory_order_relaxed);
}

void gtls_give_up(const char *why)
{
    if (atomic_exchange(&given_up, 1) == 0)
        log_error("%s; GnuTLS resumption off from now on", why);
}

int gtls_tracking(void)
{
    return atomic_load_explicit(&nconns, memory_order_relaxed) != 0;
}

static void conn_clear(struct gtls_conn *c)
{
    free(c->sni);
    free(c->prio);
    free(c->key);
    free(c->chain.data);
    for (unsigned i = 0; i < c->velems; i++)
        free(c->vdata[i].data);
    free(c->vdata);
    memset(c, 0, sizeof *c);
}

struct gtls_conn *gconn_attach(gnutls_session_t s)
{
    struct conn_entry *e = calloc(1, sizeof *e), *old = NULL;
    if (e == NULL)
        return NULL;
    e->s = s;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(conns, &s, old);
    if (old != NULL) { /* a stale entry: its session was freed without gnutls_deinit */
        HASH_DEL(conns, old);
        atomic_fetch_sub(&nconns, 1);
    }
    HASH_ADD_PTR(conns, s, e);
    atomic_fetch_add(&nconns, 1);
    pthread_mutex_unlock(&lock);
    if (old != NULL) {
        conn_clear(&old->c);
        free(old);
    }
    return &e->c;
}

struct gtls_conn *gconn_get(gnutls_session_t s)
{
    struct conn_entry *e = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(conns, &s, e);
    pthread_mutex_unlock(&lock);
    return e ? &e->c : NULL;
}

void gconn_free(gnutls_session_t s)
{
    struct conn_entry *e = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(conns, &s, e);
    if (e != NULL) {
        HASH_DEL(conns, e);
        atomic_fetch_sub(&nconns, 1);
    }
    pthread_mutex_unlock(&lock);
    if (e != NULL) {
        conn_clear(&e->c);
        free(e);
    }
}

int gconn_set_vdata(struct gtls_conn *c, const gnutls_typed_vdata_st *data, unsigned n,
                    unsigned flags)
{
    gnutls_typed_vdata_st *copy = n ? calloc(n, sizeof *copy) : NULL;
    if (n && copy == NULL)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        copy[i].type = data[i].type;
        copy[i].size = data[i].size;
        /* Strings (host names, purpose OIDs) come with size 0: copy to the NUL. */
        size_t len = data[i].size ? data[i].size
                     : data[i].data ? strlen((const char *)data[i].data) + 1
                                    : 0;
        if (len > 0) {
            copy[i].data = malloc(len + 1);
            if (copy[i].data == NULL) {
                for (unsigned j = 0; j < i; j++)
                    free(copy[j].data);
                free(copy);
                return -1;
            }
            memcpy(copy[i].data, data[i].data, len);
            copy[i].data[len] = '\0';
        }
    }
    for (unsigned i = 0; i < c->velems; i++)
        free(c->vdata[i].data);
    free(c->vdata);
    c->vdata = copy;
    c->velems = n;
    c->vflags |= flags;
    return 0;
}

static struct creds_entry *creds_entry(gnutls_certificate_credentials_t cred)
{
    struct creds_entry *e = NULL;
    HASH_FIND_PTR(creds, &cred, e);
    if (e == NULL && (e = calloc(1, sizeof *e)) != NULL) {
        e->cred = cred;
        HASH_ADD_PTR(creds, cred, e);
    }
    return e;
}

int gcreds_note_verify(gnutls_certificate_credentials_t cred,
                       gnutls_certificate_verify_function *fn)
{
    pthread_mutex_lock(&lock);
    struct creds_entry *e = creds_entry(cred);
    if (e != NULL)
        e->vfn = fn;
    pthread_mutex_unlock(&lock);
    if (e == NULL)
        log_warn("out of memory recording a verify function");
    return e != NULL ? 0 : -1;
}

void gcreds_note_picks_cert(gnutls_certificate_credentials_t cred)
{
    pthread_mutex_lock(&lock);
    struct creds_entry *e = creds_entry(cred);
    if (e != NULL)
        e->picks_cert = 1;
    pthread_mutex_unlock(&lock);
}

int gcreds_get(gnutls_certificate_credentials_t cred, gnutls_certificate_verify_function **fn,
               int *picks_cert)
{
    struct creds_entry *e = NULL;
    *fn = NULL;
    *picks_cert = 0;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(creds, &cred, e);
    if (e != NULL) {
        *fn = e->vfn;
        *picks_cert = e->picks_cert;
    }
    pthread_mutex_unlock(&lock);
    return e != NULL;
}

int gcreds_note_limits(gnutls_certificate_credentials_t cred, unsigned max_bits,
                       unsigned max_depth)
{
    pthread_mutex_lock(&lock);
    struct creds_entry *e = creds_entry(cred);
    if (e != NULL) {
        e->limits_set = 1;
        e->max_bits = max_bits;
        e->max_depth = max_depth;
    }
    pthread_mutex_unlock(&lock);
    return e != NULL ? 0 : -1;
}

int gcreds_get_limits(gnutls_certificate_credentials_t cred, unsigned *max_bits,
                      unsigned *max_depth)
{
    struct creds_entry *e = NULL;
    int set = 0;
    *max_bits = *max_depth = 0;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(creds, &cred, e);
    if (e != NULL && e->limits_set) {
        set = 1;
        *max_bits = e->max_bits;
        *max_depth = e->max_depth;
    }
    pthread_mutex_unlock(&lock);
    return set;
}

void gcreds_forget(gnutls_certificate_credentials_t cred)
{
    struct creds_entry *e = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(creds, &cred, e);
    if (e != NULL)
        HASH_DEL(creds, e);
    pthread_mutex_unlock(&lock);
    free(e);
}

int gprio_note(gnutls_priority_t cache, const char *text)
{
    struct prio_entry *e = NULL;
    char *copy = strdup(text);
    if (copy == NULL)
        return -1;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(prios, &cache, e);
    if (e == NULL && (e = calloc(1, sizeof *e)) != NULL) {
        e->cache = cache;
        HASH_ADD_PTR(prios, cache, e);
    }
    char *old = NULL;
    if (e != NULL) {
        old = e->text;
        e->text = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(old);
    free(copy);
    return e != NULL ? 0 : -1;
}

char *gprio_dup(gnutls_priority_t cache)
{
    struct prio_entry *e = NULL;
    char *text = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(prios, &cache, e);
    if (e != NULL)
        text = strdup(e->text);
    pthread_mutex_unlock(&lock);
    return text;
}

void gprio_forget(gnutls_priority_t cache)
{
    struct prio_entry *e = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_PTR(prios, &cache, e);
    if (e != NULL)
        HASH_DEL(prios, e);
    pthread_mutex_unlock(&lock);
    if (e != NULL) {
        free(e->text);
        free(e);
    }
}
