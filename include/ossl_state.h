/*
 * ossl_state.h - what we remember about OpenSSL objects, attached to them as
 * ex_data so it lives and dies with them.
 */
#ifndef OSSL_STATE_H
#define OSSL_STATE_H

#include "ar_nodelay.h"
#include "ar_state.h"
#include "ossl_sym.h"

#include <stdint.h>

struct ossl_native;

/* Per connection. An SSL is used by one thread at a time: no lock needed. */
struct ar_conn {
    int started;            /* the first handshake call was seen */
    int finished;           /* its outcome was recorded */
    int offered;            /* we called SSL_set_session */
    int program_session;    /* the program set its own session */
    char *key;              /* session key; NULL when none could be made */
    char label[128];        /* "host:port" for log lines */
    const char *why_not;    /* static reason no session was offered */
    int64_t born;           /* full-handshake time of the offered session */
    struct ar_blob chain;   /* peer chain of the offered session */
    struct ossl_native *native; /* its parsed chain, a reference */
    long verify_result;     /* stored verify result of the offered session */
    int recheck_after;      /* trust check deferred to the handshake's end */
    int dropped;            /* the key's stale sessions were already dropped */
    struct ar_nodelay nodelay; /* TCP_NODELAY window after a resumed handshake */
    int sid_set;            /* sid_ctx known (from SSL_new or the setter) */
    unsigned sid_len;
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    int failed;             /* a deferred trust check failed: the connection is dead */
};

/* Per SSL_CTX. Shared by threads: read and write under ctx_lock(). */
struct ar_ctx {
    int prepared;           /* our new-session callback is installed */
    int opted_out;          /* the program turned session caching off */
    int custom_verify;      /* SSL_CTX_set_cert_verify_callback was used */
    int removes_internal;   /* undo OpenSSL's internal store of client sessions */
    long program_mode;      /* cache mode as the program set it and sees it */
    int (*program_new_cb)(SSL *, SSL_SESSION *);
    int sid_set;
    unsigned sid_len;
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
};

/*
 * ossl_ready - 1 once resumption is enabled (state_ready), OpenSSL is
 * resolved (OSSL_READY) and the ex_data slots exist; 0 means pass through.
 * Thread-safe, cheap after the first call.
 */
int ossl_ready(void);

/* conn_get - the connection's state or NULL. conn_attach creates it (NULL on ENOMEM). */
struct ar_conn *conn_get(const SSL *ssl);
struct ar_conn *conn_attach(SSL *ssl);

/* conn_reset - forget per-handshake state (SSL_clear), keeping the sid_ctx. */
void conn_reset(struct ar_conn *c);

/* ctxd_get/ctxd_attach - per-context state; call with ctx_lock() held. */
struct ar_ctx *ctxd_get(const SSL_CTX *ctx);
struct ar_ctx *ctxd_attach(SSL_CTX *ctx);

/* ctx_lock/ctx_unlock - the one lock over all struct ar_ctx; never held across a program callback. */
void ctx_lock(void);
void ctx_unlock(void);

#endif
