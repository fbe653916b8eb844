/*
 * ossl_ctx.c - OpenSSL calls a context's new-session callback for client
 * sessions only when its cache mode includes SSL_SESS_CACHE_CLIENT, which is
 * off by default. So we add that bit (plus NO_INTERNAL_STORE, so OpenSSL does
 * not also hoard the sessions) and install our callback, while the program
 * keeps seeing the mode and callback it set, and its callback is called
 * exactly when it would have been without us.
 */
#include "ossl_ctx.h"
#include "ossl_state.h"

#include <stdatomic.h>
#include <string.h>

static _Atomic ctx_capture_fn capture_fn; /* set by every ctx_prepare, always the same */

/* Apply d->program_mode to the real context, plus what capture needs. Under ctx_lock. */
static void apply_mode(SSL_CTX *ctx, struct ar_ctx *d)
{
    long prog = d->program_mode;
    long mode = prog;

    d->opted_out = (prog & SSL_SESS_CACHE_BOTH) == 0;
    d->removes_internal = 0;
    if (!d->opted_out && !(prog & SSL_SESS_CACHE_CLIENT)) {
        mode |= SSL_SESS_CACHE_CLIENT;
        /* NO_INTERNAL_STORE would also stop a serving context's server cache. */
        if (!(prog & SSL_SESS_CACHE_SERVER) ||
            ossl.SSL_CTX_get_ssl_method(ctx) == ossl.TLS_client_method())
            mode |= SSL_SESS_CACHE_NO_INTERNAL_STORE;
        else
            d->removes_internal = 1;
    }
    ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, mode, NULL);
}

/*
 * Take a client session back out of the context's internal cache, where the
 * cache mode we added put it. SSL_CTX_remove_session marks the session it is
 * given not resumable, and this one is the connection's own, which the
 * program may resume itself (SSL_get1_session, then SSL_set_session): so it
 * is given a stand-in with the same id and version, the cache's lookup key.
 */
static void remove_from_internal_cache(SSL_CTX *ctx, const SSL_SESSION *sess)
{
    unsigned int len = 0;
    const unsigned char *id = ossl.SSL_SESSION_get_id(sess, &len);
    SSL_SESSION *stand_in = ossl.SSL_SESSION_new();
    if (stand_in != NULL && len > 0 && ossl.SSL_SESSION_set1_id(stand_in, id, len) &&
        ossl.SSL_SESSION_set_protocol_version(stand_in, ossl.SSL_SESSION_get_protocol_version(sess)))
        ossl.SSL_CTX_remove_session(ctx, stand_in);
    if (stand_in != NULL)
        ossl.SSL_SESSION_free(stand_in);
}

static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    /* OpenSSL calls the callback of the context the SSL was made from, even
     * after SSL_set_SSL_CTX moved it to another: that one's program callback
     * and mode apply. */
    struct ar_conn *c = conn_get(ssl);
    SSL_CTX *ctx = c != NULL && c->session_ctx != NULL ? c->session_ctx : ossl.SSL_get_SSL_CTX(ssl);
    int (*program_cb)(SSL *, SSL_SESSION *) = NULL;
    long mode = 0;
    int ours = 0, removes_internal = 0;

    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->prepared) {
        ours = !d->opted_out;
        program_cb = d->program_new_cb;
        mode = d->program_mode;
        removes_internal = d->removes_internal;
    }
    ctx_unlock();

    if (ossl.SSL_is_server(ssl))
        return program_cb && (mode & SSL_SESS_CACHE_SERVER) ? program_cb(ssl, sess) : 0;
    ctx_capture_fn capture = atomic_load(&capture_fn);
    if (ours && capture != NULL)
        capture(ssl, sess);
    if (program_cb && (mode & SSL_SESS_CACHE_CLIENT))
        return program_cb(ssl, sess);
    if (removes_internal && ossl.SSL_CTX_sess_get_remove_cb(ctx) == NULL) {
        ossl.ERR_set_mark();
        remove_from_internal_cache(ctx, sess);
        ossl.ERR_pop_to_mark();
    }
    return 0; /* we kept no reference: OpenSSL drops the one it took for us */
}

int ctx_client_mode_is_ours(SSL_CTX *ctx)
{
    int ours = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->prepared)
        ours = !d->opted_out && !(d->program_mode & SSL_SESS_CACHE_CLIENT);
    ctx_unlock();
    return ours;
}

/* A PSK callback set on a context whose state could not be made (out of
 * memory): no context of the process is probed or offered anything. */
static _Atomic int psk_unrecorded;

/* Why a context's callbacks, which SSL_new copies into its SSLs, rule out
 * offers (a client certificate or PSK callback), or NULL. d may be NULL. */
static const char *callback_why(const struct ar_ctx *d)
{
    if (d != NULL && d->custom_cert_cb)
        return "program picks its client certificate per handshake";
    if ((d != NULL && d->custom_psk) || atomic_load(&psk_unrecorded))
        return "program uses pre-shared keys (a PSK callback)";
    return NULL;
}

int ctx_prepare(SSL_CTX *ctx, ctx_capture_fn capture, const char **why)
{
    int rc = 0;
    atomic_store(&capture_fn, capture);
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d == NULL) {
        *why = "out of memory";
        rc = -1;
    } else {
        if (!d->prepared) {
            d->program_mode = ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_SESS_CACHE_MODE, 0, NULL);
            d->program_new_cb = ossl.SSL_CTX_sess_get_new_cb(ctx);
            apply_mode(ctx, d);
            ossl.SSL_CTX_sess_set_new_cb(ctx, on_new_session);
            d->prepared = 1;
        }
        if (d->opted_out) {
            *why = "program turned session caching off";
            rc = -1;
        } else if (d->custom_verify) {
            *why = "program verifies certificates its own way";
            rc = -1;
        } else if (callback_why(d) != NULL) {
            *why = callback_why(d);
            rc = -1;
        } else if (d->own_libctx) {
            *why = "program uses its own OpenSSL library context or properties";
            rc = -1;
        }
    }
    ctx_unlock();
    return rc;
}

int ctx_hook_ctrl(SSL_CTX *ctx, int cmd, long larg, long *result)
{
    if (cmd != SSL_CTRL_SET_SESS_CACHE_MODE && cmd != SSL_CTRL_GET_SESS_CACHE_MODE)
        return 0;
    int handled = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->prepared) {
        *result = d->program_mode; /* SET returns the previous mode */
        if (cmd == SSL_CTRL_SET_SESS_CACHE_MODE) {
            d->program_mode = larg;
            apply_mode(ctx, d);
        }
        handled = 1;
    }
    ctx_unlock();
    return handled;
}

int ctx_hook_set_new_cb(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *))
{
    int handled = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->prepared) {
        d->program_new_cb = cb;
        handled = 1;
    }
    ctx_unlock();
    return handled;
}

int ctx_hook_get_new_cb(SSL_CTX *ctx, int (**cb)(SSL *, SSL_SESSION *))
{
    int handled = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->prepared) {
        *cb = d->program_new_cb;
        handled = 1;
    }
    ctx_unlock();
    return handled;
}

void ctx_note_sid(SSL_CTX *ctx, const unsigned char *sid, unsigned len)
{
    if (len > SSL_MAX_SID_CTX_LENGTH)
        return;
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL) {
        memcpy(d->sid, sid, len);
        d->sid_len = len;
        d->sid_set = 1;
    }
    ctx_unlock();
}

void ctx_note_custom_verify(SSL_CTX *ctx, int on)
{
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL)
        d->custom_verify = on;
    ctx_unlock();
}

void ctx_note_cert_cb(SSL_CTX *ctx, int on)
{
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL)
        d->custom_cert_cb = on;
    ctx_unlock();
}

void ctx_note_psk(SSL_CTX *ctx, int which, int on)
{
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL)
        d->custom_psk = on ? d->custom_psk | which : d->custom_psk & ~which;
    else if (on)
        atomic_store(&psk_unrecorded, 1);
    ctx_unlock();
}

int ctx_psk_unrecorded(void)
{
    return atomic_load(&psk_unrecorded);
}

const char *ctx_copied_callback(SSL_CTX *ctx)
{
    ctx_lock();
    const char *why = callback_why(ctxd_get(ctx));
    ctx_unlock();
    return why;
}

void ctx_note_own_libctx(SSL_CTX *ctx)
{
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL)
        d->own_libctx = 1;
    ctx_unlock();
}

void ctx_copy_sid(SSL_CTX *ctx, SSL *ssl)
{
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    unsigned len = 0;
    int set = 0;

    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->sid_set) {
        memcpy(sid, d->sid, d->sid_len);
        len = d->sid_len;
        set = 1;
    }
    ctx_unlock();
    if (!set)
        return;
    struct ar_conn *c = conn_attach(ssl);
    if (c != NULL) {
        memcpy(c->sid, sid, len);
        c->sid_len = len;
        c->sid_set = 1;
    }
}
