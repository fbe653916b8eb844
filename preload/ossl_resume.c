/*
 * ossl_resume.c - offer, capture, outcome. See ossl_resume.h.
 *
 * Each offer gets a fresh SSL_SESSION (a dup of the private copy capture
 * kept, or d2i_SSL_SESSION of the store's bytes), so no SSL_SESSION object
 * is ever shared between contexts or connections (SSL_set_session(3)
 * NOTES). Capture serializes nothing: the table's encode op
 * (native_encode) does, when the store needs the bytes.
 */
#include "ossl_resume.h"
#include "ar_env.h"
#include "ar_log.h"
#include "ar_stats.h"
#include "ossl_ctx.h"
#include "ossl_key.h"
#include "ossl_policy.h"
#include "ossl_state.h"
#include "ossl_verify.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Forget every session of c's key, everywhere (a handshake failed after an offer). */
static void drop_sessions(struct ar_conn *c)
{
    state_drop(c->key);
}

/* The server refused the session we offered (see state_drop_born). Once per connection. */
static void drop_stale_sessions(struct ar_conn *c)
{
    if (c->dropped)
        return;
    c->dropped = 1;
    state_drop_born(c->key, c->born);
}

/* Keep a session OpenSSL just reported, with what an offer needs. */
static void capture(SSL *ssl, SSL_SESSION *sess)
{
    struct ar_conn *c = conn_get(ssl);
    struct ar_session s;
    int64_t now = now_seconds();

    if (c == NULL || c->key == NULL || !ossl.SSL_SESSION_is_resumable(sess))
        return;
    /* Before TLS 1.3 a session comes within its handshake: one after it is
     * a renegotiation's, under whatever the program set on the SSL since
     * (another cipher list, a lower security level), which the key made at
     * the first handshake does not describe. TLS 1.3 tickets come after. */
    if (c->finished && ossl.SSL_SESSION_get_protocol_version(sess) < TLS1_3_VERSION)
        return;
    int verify_peer = ossl.SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE; /* as OpenSSL's client */
    long result = ossl.SSL_get_verify_result(ssl);
    if (verify_peer && result != X509_V_OK)
        return; /* a callback let a failed verification through: keep nothing */
    const char *why = NULL;
    if (!policy_keepable(ssl, &why)) {
        log_debug("%s: not kept: %s", c->label, why);
        return;
    }

    /* A TLS 1.2 server that refused our offer hands out the new session
     * within the handshake: drop the stale ones first, not after. */
    if (c->offered && !ossl.SSL_session_reused(ssl))
        drop_stale_sessions(c);
    memset(&s, 0, sizeof s);
    s.version = ossl.SSL_SESSION_get_protocol_version(sess);
    s.single_use = s.version >= TLS1_3_VERSION;
    s.verify_result = result;
    OPENSSL_STACK *chain = NULL;
    if (ossl.SSL_session_reused(ssl)) {
        /* New ticket on a resumed connection: no certificate came this time. */
        if (!c->offered || c->chain.len == 0)
            return;
        s.born = c->born;
        if (blob_copy(&s.chain, &c->chain) != 0)
            return;
        if (c->native != NULL)
            chain = (OPENSSL_STACK *)ossl.X509_chain_up_ref((STACK_OF(X509) *)c->native->chain);
    } else {
        s.born = now;
        if (chain_encode(ssl, &s.chain) != 0)
            return;
        chain = (OPENSSL_STACK *)ossl.X509_chain_up_ref(ossl.SSL_get_peer_cert_chain(ssl));
    }
    /* Lifetime: the session's own, capped from the original full handshake. */
    int64_t cap = s.single_use ? AR_MAX_AGE_TLS13 : AR_MAX_AGE_TLS12;
    int64_t issued = ossl_session_time(sess);
    int64_t expires = issued + ossl.SSL_SESSION_get_timeout(sess);
    unsigned long hint = ossl.SSL_SESSION_get_ticket_lifetime_hint(sess);
    if (hint > 0 && issued + (int64_t)hint < expires)
        expires = issued + (int64_t)hint; /* the server's ticket lifetime */
    if (expires > s.born + cap)
        expires = s.born + cap;
    if (s.single_use && hint == 0)
        expires = 0; /* RFC 8446 4.6.1: lifetime 0 means do not keep */
    s.expires = expires;

    /* Keep the parsed objects: parsing costs more than a resumption, and
     * the bytes are made only if the session goes to the store
     * (native_encode): serializing was most of a capture's cost. */
    SSL_SESSION *copy = chain != NULL ? ossl.SSL_SESSION_dup(sess) : NULL;
    if (copy != NULL) {
        s.native = native_new(copy, chain);
        chain = NULL;
    }
    if (s.native != NULL || native_der(sess, &s.der) == 0) { /* else nothing to keep */
        const char *what = s.single_use ? "ticket" : "session";
        if (state_keep(c->key, c->label, &s, now) == 0)
            log_debug("%s: stored %s %s", c->label, what, ossl.SSL_get_version(ssl));
    }
    chain_free(chain);
    session_clear(&s);
}

static void capture_guarded(SSL *ssl, SSL_SESSION *sess)
{
    int saved = errno;
    ossl.ERR_set_mark();
    capture(ssl, sess);
    ossl.ERR_pop_to_mark();
    errno = saved;
}

/* The SSL whose hooked handshake call this thread is inside (resume_enter). */
static __thread const SSL *in_call;

const SSL *resume_enter(const SSL *ssl)
{
    const SSL *outer = in_call;
    in_call = ssl;
    return outer;
}

void resume_leave(const SSL *outer)
{
    in_call = outer;
}

int resume_skip_remove(SSL_CTX *ctx, const SSL_SESSION *sess)
{
    const SSL *ssl = in_call;
    return ssl != NULL && sess != NULL && ossl_ready() && ossl.SSL_get_session(ssl) == sess &&
           !ossl.SSL_is_server(ssl) && ctx_client_mode_is_ours(ctx);
}

/* Whether this call starts a client handshake we have not seen yet. */
static struct ar_conn *starting_client(SSL *ssl, enum start_kind how)
{
    if (!ossl.SSL_in_before(ssl) || ossl_is_quic(ssl))
        return NULL;
    if (ossl.SSL_is_server(ssl)) {
        if (how != START_CONNECT)
            return NULL;
        /* SSL_connect does this itself first; do it now so the key and any
         * verify callback see a client (ruby's checks the hostname only then). */
        ossl.SSL_set_connect_state(ssl);
    }
    struct ar_conn *c = conn_attach(ssl);
    /* Back before a handshake after one that finished, without SSL_clear
     * (SSL_shutdown, then SSL_set_connect_state: s_client -reconnect), or
     * after one the program gave up (SSL_set_connect_state again, outside
     * any call of ours for this SSL): a new handshake, to be followed like
     * the first. Inside our call it is the same one (a hook libssl reached). */
    if (c != NULL && c->started && (c->finished || in_call != ssl))
        conn_reset(c);
    if (c == NULL || c->started)
        return NULL;
    c->started = 1;
    return c;
}

/* Offer a stored session to c's connection; returns a reason when not. */
static const char *offer(SSL *ssl, struct ar_conn *c, enum start_kind how)
{
    struct ar_session s;
    const char *why = NULL;

    if (ctx_prepare(ossl.SSL_get_SSL_CTX(ssl), capture_guarded, &why) != 0) {
        label_from_ssl(ssl, c); /* the log names the server; key_from_ssl does it otherwise */
        return why;
    }
    if (key_from_ssl(ssl, c, &why) != 0)
        return why;
    log_debug("%s: key %s", c->label, c->key);
    /* A session OpenSSL would not offer (an earlier handshake's on this SSL
     * before any TLS 1.3 ticket came, as s_client -reconnect keeps it) is
     * replaced by a new one in the ClientHello: the program offers nothing. */
    SSL_SESSION *own = ossl.SSL_get_session(ssl);
    if (own != NULL && ossl.SSL_SESSION_is_resumable(own)) {
        c->program_session = 1;
        return "program set its own session";
    }
    if (!ossl_still_single())
        return "two libssl builds loaded";
    int from_store;
    int found = state_take(c->key, &s, &from_store);
    if (found <= 0)
        return found < 0 ? "out of memory" : "no session";
    /* Parsed forms: kept with the session, or remembered from our own capture. */
    if (s.native == NULL && from_store)
        s.native = native_recall(&s.der);
    struct ossl_native *n = s.native;
    /* This connection's own SSL_SESSION: the parsed one (native_session,
     * once the checks passed), else parsed from the bytes now, its peer
     * certificate then taken as the chain's leaf (a certificate parse is
     * most of an offer's cost). */
    SSL_SESSION *sess = NULL;
    if (n == NULL || n->sess == NULL) {
        const unsigned char *p = s.der.data;
        sess = ossl.d2i_SSL_SESSION(NULL, &p, (long)s.der.len);
        if (sess == NULL) {
            session_clear(&s);
            drop_sessions(c);
            return "stored session unreadable";
        }
    }
    int decoded = sess != NULL;
    /* The version the session itself says, not the record's. */
    c->status_after = policy_status_after(ssl, ossl.SSL_SESSION_get_protocol_version(sess != NULL ? sess : n->sess));
    OPENSSL_STACK *chain = n != NULL ? n->chain : chain_decode(&s.chain, ossl.SSL_SESSION_get0_peer(sess));
    long result;
    int trusted = trust_recheck(ssl, chain, s.verify_result, 0, &result, &why);
    if (n == NULL && chain != NULL) { /* keep the parse for the tickets this brings */
        n = native_new(NULL, chain);
        s.native = n;
    }
    if (!trusted && how != START_IO &&
        ossl.SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE &&
        trust_store_empty(ssl, n != NULL ? n->chain : NULL)) {
        c->recheck_after = 1; /* nothing to check against yet: check at the end */
        log_debug("%s: trust store still empty; checking after the handshake", c->label);
    } else if (why != NULL) {
        /* Another connection, with other trust, may still use it. Reusable
         * sessions were only copied; a taken ticket is kept again. */
        if (sess != NULL)
            ossl.SSL_SESSION_free(sess);
        if (s.single_use)
            state_keep(c->key, c->label, &s, now_seconds());
        session_clear(&s);
        return why;
    }
    if (sess == NULL && (sess = native_session(n)) == NULL) {
        if (s.single_use) /* out of memory: nothing wrong with the ticket */
            state_keep(c->key, c->label, &s, now_seconds());
        session_clear(&s);
        return "out of memory";
    }
    if (decoded) /* the bytes hold no peer chain: SSL_get_peer_cert_chain gets ours */
        chain_attach(sess, n != NULL ? n->chain : NULL);
    ossl.SSL_SESSION_set_max_early_data(sess, 0); /* never 0-RTT */
    if (!ossl.SSL_set_session(ssl, sess)) {
        ossl.SSL_SESSION_free(sess);
        session_clear(&s);
        return "SSL_set_session failed";
    }
    /* The connection holds its own reference; ours marks it as ours until
     * its handshake succeeds (forget_left_session). */
    if (c->offered_sess != NULL)
        ossl.SSL_SESSION_free(c->offered_sess);
    c->offered_sess = sess;
    c->offered = 1;
    c->born = s.born;
    c->verify_result = s.verify_result;
    c->chain = s.chain; /* kept to capture the tickets this resumption brings */
    s.chain.data = NULL;
    s.chain.len = 0;
    c->native = s.native;
    s.native = NULL;
    session_clear(&s);
    return NULL;
}

/*
 * A new handshake on an SSL where we offered a session before: if that
 * handshake did not succeed (it failed, or the program gave it up and
 * called SSL_clear), the SSL may still hold our session, which OpenSSL would
 * offer now, for whatever host and settings the SSL has been given since.
 * Without us it would hold the session of an unfinished full handshake,
 * which OpenSSL does not offer. So ours is taken off, and the offer is
 * decided afresh.
 */
static void forget_left_session(SSL *ssl, struct ar_conn *c)
{
    if (c->offered_sess == NULL)
        return;
    if (ossl.SSL_get_session(ssl) == c->offered_sess)
        ossl.SSL_set_session(ssl, NULL);
    ossl.SSL_SESSION_free(c->offered_sess);
    c->offered_sess = NULL;
}

void resume_before(SSL *ssl, enum start_kind how)
{
    if (!ossl_ready())
        return;
    int saved = errno;
    ossl.ERR_set_mark();
    struct ar_conn *c = starting_client(ssl, how);
    if (c != NULL) {
        forget_left_session(ssl, c);
        c->why_not = offer(ssl, c, how);
        state_note_offer(c->label, c->program_session, c->why_not);
    }
    ossl.ERR_pop_to_mark();
    errno = saved;
}

static int still_in_progress(SSL *ssl, int ret)
{
    switch (ossl.SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
    case SSL_ERROR_WANT_CONNECT:
    case SSL_ERROR_WANT_X509_LOOKUP:
    case SSL_ERROR_WANT_ASYNC:
    case SSL_ERROR_WANT_ASYNC_JOB:
    case SSL_ERROR_WANT_CLIENT_HELLO_CB:
        return 1;
    default:
        return 0;
    }
}

/* Some connection of this process is dead (resume_dead): the hooks' fast path. */
static atomic_int any_dead;

/*
 * Fail a connection whose resumed handshake just finished, as OpenSSL would
 * have failed the full one: the call returns failure with `reason` (and
 * `text`) on the error queue, the connection is dead to later calls
 * (resume_dead), and its session is replaced by an empty one, since a
 * program's SSL_get1_session, or SSL_clear and a new handshake on this SSL,
 * would resume it. No alert goes out (see deferred_recheck).
 */
static void fail_resumed(SSL *ssl, struct ar_conn *c, int reason, const char *text)
{
    stats_add(AR_STAT_FAILED);
    c->failed = 1;
    atomic_store(&any_dead, 1);
    SSL_SESSION *empty = ossl.SSL_SESSION_new();
    ossl.SSL_set_session(ssl, empty); /* NULL (no memory) also drops it */
    if (empty != NULL)
        ossl.SSL_SESSION_free(empty);
    ossl.ERR_new();
    ossl.ERR_set_debug(__FILE__, __LINE__, "autoresume");
    ossl.ERR_set_error(ERR_LIB_SSL, reason, "resumed session: %s", text);
}

/*
 * The deferred trust check of a resumed handshake. Returns 1 if trust holds,
 * else fails the connection as OpenSSL would have failed a full handshake.
 * No alert goes out: the handshake is over, so an alert would have to be
 * encrypted under the connection's keys, and OpenSSL has no public call that
 * sends a fatal one (SSL_shutdown sends close_notify, an orderly end). The
 * server sees the connection close without a request.
 */
static int deferred_recheck(SSL *ssl, struct ar_conn *c)
{
    const char *why = NULL;
    long result;
    ossl.ERR_set_mark();
    /* After the handshake the result can be set, as a full handshake sets it:
     * a program's callback that accepts an error gets that error reported. */
    int ok = trust_recheck(ssl, c->native ? c->native->chain : NULL, c->verify_result, 1,
                           &result, &why);
    ossl.ERR_pop_to_mark();
    if (ok) {
        ossl.SSL_set_verify_result(ssl, result);
        return 1;
    }
    /* The session was fine for the trust it was won under: other runs with
     * that trust may still use the key's sessions; this one is spent. */
    fail_resumed(ssl, c, SSL_R_CERTIFICATE_VERIFY_FAILED, ossl.X509_verify_cert_error_string(result));
    /* After the empty session, which brings a result of its own. */
    ossl.SSL_set_verify_result(ssl, result == X509_V_OK ? X509_V_ERR_UNSPECIFIED : result);
    log_info("%s handshake failed (resumed, but %s)", c->label, why);
    return 0;
}

/*
 * The program's OCSP status callback after a resumed TLS 1.2 handshake,
 * which OpenSSL does not call then (policy_status_after). Its errors stay
 * in the queue, as in a full handshake; a refusal fails the connection
 * with OpenSSL's reason (invalid status response).
 */
static int deferred_status(SSL *ssl, struct ar_conn *c)
{
    int ret = policy_run_status_callback(ssl);
    if (ret > 0)
        return 1;
    long result = ossl.SSL_get_verify_result(ssl); /* the chain passed: it stays so */
    fail_resumed(ssl, c, ret == 0 ? SSL_R_INVALID_STATUS_RESPONSE : ERR_R_MALLOC_FAILURE,
                 "the program's OCSP status callback refused it");
    ossl.SSL_set_verify_result(ssl, result);
    log_info("%s handshake failed (resumed, but the program's OCSP status callback refused it)", c->label);
    return 0;
}

int resume_after(SSL *ssl, int ret)
{
    if (!ossl_ready())
        return 1;
    struct ar_conn *c = conn_get(ssl);
    if (c == NULL || !c->started || c->finished)
        return 1;
    int saved = errno;
    if (ossl.SSL_is_init_finished(ssl) && c->offered && (c->recheck_after || c->status_after) &&
        ossl.SSL_session_reused(ssl)) {
        c->finished = 1;
        if ((c->recheck_after && !deferred_recheck(ssl, c)) ||
            (c->status_after && !deferred_status(ssl, c))) {
            errno = saved;
            return 0;
        }
    }
    if (ossl.SSL_is_init_finished(ssl)) {
        c->finished = 1;
        if (c->offered_sess != NULL) { /* it did its job: what the SSL holds now is its own */
            ossl.SSL_SESSION_free(c->offered_sess);
            c->offered_sess = NULL;
        }
        int resumed = ossl.SSL_session_reused(ssl);
        if (state_note_handshake(c->label, ossl.SSL_get_version(ssl), c->program_session,
                                 c->offered, resumed, c->why_not))
            drop_stale_sessions(c);
        else if (c->offered && resumed)
            nodelay_begin(&c->nodelay, ossl.SSL_get_fd(ssl)); /* ar_nodelay.h */
    } else if (ret <= 0 && !still_in_progress(ssl, ret)) {
        c->finished = 1;
        stats_add(AR_STAT_FAILED);
        if (c->offered)
            drop_sessions(c);
        log_info("%s handshake failed (%s)", c->label,
                 c->offered ? "with an offered session: its sessions dropped"
                 : c->why_not ? c->why_not : "no session offered");
    }
    errno = saved;
    return 1;
}

int resume_finish_first(SSL *ssl)
{
    struct ar_conn *c = ossl_ready() ? conn_get(ssl) : NULL;
    if (c == NULL || !c->offered || !(c->recheck_after || c->status_after) || c->finished)
        return 1;
    int ret = ossl.SSL_do_handshake(ssl);
    return resume_after(ssl, ret) && ret > 0;
}

int resume_dead(const SSL *ssl)
{
    if (!atomic_load_explicit(&any_dead, memory_order_relaxed) || !ossl_ready())
        return 0;
    struct ar_conn *c = conn_get(ssl);
    return c != NULL && c->failed;
}

void resume_after_write(SSL *ssl, int wrote)
{
    struct ar_conn *c = ossl_ready() ? conn_get(ssl) : NULL;
    if (c == NULL || !c->nodelay.on)
        return;
    if (wrote) /* it went to this descriptor: the socket, still */
        nodelay_end_write(&c->nodelay, ossl.SSL_get_fd(ssl));
    else
        nodelay_end(&c->nodelay);
}

void resume_ssl_clear(SSL *ssl)
{
    if (!ossl_ready())
        return;
    /* OpenSSL's handshake calls SSL_clear itself as it starts, inside our
     * call: that one must not forget the session we just offered. The
     * program's, after giving a handshake up, does. */
    struct ar_conn *c = conn_get(ssl);
    if (c != NULL && !(c->started && !c->finished && in_call == ssl))
        conn_reset(c);
}

void resume_note_ssl_sid(SSL *ssl, const unsigned char *sid, unsigned len)
{
    if (!ossl_ready() || len > SSL_MAX_SID_CTX_LENGTH)
        return;
    int saved = errno;
    struct ar_conn *c = conn_attach(ssl);
    if (c != NULL) {
        memcpy(c->sid, sid, len);
        c->sid_len = len;
        c->sid_set = 1;
    }
    errno = saved;
}
