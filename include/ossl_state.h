/*
 * ossl_state.h - what we remember about OpenSSL objects, attached to them as
 * ex_data so it lives and dies with them.
 */
#ifndef OSSL_STATE_H
#define OSSL_STATE_H

#include "ar_nodelay.h"
#include "ar_state.h"
#include "ossl_ciphers.h"
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
    int status_after;       /* the program's OCSP status callback, run at the end of a
                             * resumed TLS 1.2 handshake (policy_status_after) */
    int dropped;            /* the key's stale sessions were already dropped */
    struct ar_nodelay nodelay; /* TCP_NODELAY window after a resumed handshake */
    int sid_set;            /* sid_ctx known (from SSL_new or the setter) */
    unsigned sid_len;
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    /* Connection settings, kept across SSL_clear (see ossl_policy.h). */
    unsigned long long overrides; /* digest of per-SSL group/sigalg lists, 0 if none */
    const char *opaque;     /* static: a setting that forbids offers, or NULL */
    int hello_known;        /* hello holds the context's policy as SSL_new copied it */
    unsigned long long hello;
    const char *hello_why;  /* static: why it is not known */
    int failed;             /* a deferred trust check failed: the connection is dead */
    int seen_known;         /* no socket: seen_port is the port of the one this */
    unsigned seen_port;     /* thread connected (ar_conntrack.h), claimed by us */
    /* Kept across SSL_clear too: */
    SSL_SESSION *offered_sess; /* the session we set, a reference held until its
                                * handshake succeeds: one left on the SSL by a
                                * handshake that failed or was abandoned is ours,
                                * not the program's, and is taken off before the
                                * next handshake (resume_before) */
    SSL_CTX *session_ctx;   /* the context SSL_new made it from, whose new-session
                             * callback OpenSSL calls even after SSL_set_SSL_CTX;
                             * NULL if SSL_new was not seen */
};

/*
 * The digest of the ClientHello a context writes (ossl_policy.c), and what it
 * was made under: valid while none of it changed.
 */
struct ar_hello_memo {
    int valid;
    int failed;             /* the probe failed (no offers on this context) */
    unsigned long epoch;    /* policy_epoch: list setters seen anywhere */
    int level;
    unsigned long cert_flags;
    unsigned long long options, ciphers;
    long min_version, max_version;
    unsigned long long hello;
};

/* Per SSL_CTX. Shared by threads: read and write under ctx_lock(). */
struct ar_ctx {
    int prepared;           /* our new-session callback is installed */
    int opted_out;          /* the program turned session caching off */
    int custom_verify;      /* SSL_CTX_set_cert_verify_callback was used */
    int custom_cert_cb;     /* SSL_CTX_set_cert_cb was used */
    int custom_psk;         /* PSK callbacks set (AR_PSK_CLIENT_CB | AR_PSK_SESSION_CB): TLS 1.2
                             * PSK, TLS 1.3 external PSK; one bit per setter */
    int own_libctx;         /* made by SSL_CTX_new_ex with a library context or properties */
    struct ar_hello_memo hello; /* see ossl_policy.c */
    int custom_ext;         /* SSL_CTX_add_(client_)custom_ext was used */
    struct ar_cipher_memo cipher_memo[CIPHER_MEMO_SLOTS]; /* see ossl_ciphers.h */
    long probes;            /* the policy probes' SSL_connect calls on it (SSL_CTX_sess_connect) */
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
 * Thread-safe, cheap after the first call. 0 also while this thread runs
 * the policy probe (ossl_policy.h): the probe's connection is not followed.
 */
int ossl_ready(void);

/*
 * ossl_stopping - 0 while OpenSSL runs; OSSL_STOPPING while its cleanup runs
 * its stop handlers (before it frees anything; OPENSSL_init_crypto answers 0
 * from then on, though its objects still live); OSSL_STOPPED after them,
 * when nothing of OpenSSL may be called.
 */
enum { OSSL_STOPPING = 1, OSSL_STOPPED = 2 };
int ossl_stopping(void);

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
