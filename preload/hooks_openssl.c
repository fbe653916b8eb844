/*
 * hooks_openssl.c - the exported OpenSSL entry points. Each one is a thin
 * shim: run the real function (found in the program's own libssl), and tell
 * ossl_resume.c / ossl_ctx.c what happened around it. Nothing here decides
 * anything.
 *
 * Build: make. Use: LD_PRELOAD=/abs/path/libautoresume.so PROGRAM, or
 * scripts/autoresume PROGRAM.
 */
#include "ossl_ctx.h"
#include "ossl_policy.h"
#include "ossl_resume.h"
#include "ossl_state.h"
#include "ossl_sym.h"
#include "ossl_verify.h"

#include <errno.h>

#define AR_EXPORT __attribute__((visibility("default")))

/*
 * Resolve the real function, or fail like a missing libssl would let us:
 * we cannot be called unless the caller linked against a libssl, so this
 * only triggers if that library vanished from view. A call from an object
 * with a libssl of its own, other than the one we resolved (a renamed
 * private copy, or that copy itself), goes to that one untouched
 * (OSSL_ROUTE, ar_route.h): no resumption for it, and none of its objects
 * reaches the other build.
 */
#define REAL(name, fail, args)                                                           \
    do {                                                                                 \
        enum ossl_status st_ = ossl_load();                                              \
        OSSL_ROUTE(name, st_ != OSSL_MISSING ? ossl.name : NULL, fail, args)             \
        if (st_ == OSSL_MISSING || ossl.name == NULL) {                                  \
            errno = ENOSYS;                                                              \
            return fail;                                                                 \
        }                                                                                \
    } while (0)

#define REAL_VOID(name, args)                                                            \
    do {                                                                                 \
        enum ossl_status st_ = ossl_load();                                              \
        OSSL_ROUTE_VOID(name, st_ != OSSL_MISSING ? ossl.name : NULL, args)              \
        if (st_ == OSSL_MISSING || ossl.name == NULL)                                    \
            return;                                                                      \
    } while (0)

/*
 * The calls every use of a libssl starts with (a context, then a
 * connection): a build mapped since the last look is seen before any of
 * its objects reaches another hook (ar_route.h).
 */
#define REAL_FRESH(name, fail, args)                                                     \
    do {                                                                                 \
        route_refresh(&ossl_route);                                                      \
        REAL(name, fail, args);                                                          \
    } while (0)

/*
 * Handshake-capable calls: fast path once the handshake is done. `fail` is
 * what the call returns when it fails (-1, or 0 for the _ex forms). Reads
 * and writes finish a handshake whose trust check is pending before they
 * move data (resume_finish_first); a dead connection fails at once.
 */
#define HANDSHAKE_CALL(how, call, fail)                                                  \
    do {                                                                                 \
        if (resume_dead(ssl))                                                            \
            return fail;                                                                 \
        if (ossl.SSL_is_init_finished(ssl))                                              \
            return call;                                                                 \
        resume_before(ssl, how);                                                         \
        const SSL *outer_ = resume_enter(ssl);                                           \
        if (how == START_IO && !resume_finish_first(ssl)) {                              \
            resume_leave(outer_);                                                        \
            return fail;                                                                 \
        }                                                                                \
        int ret_ = call;                                                                 \
        resume_leave(outer_);                                                            \
        return resume_after(ssl, ret_) ? ret_ : fail;                                    \
    } while (0)

AR_EXPORT int SSL_clear(SSL *ssl)
{
    REAL(SSL_clear, 0, (ssl));
    int ret = ossl.SSL_clear(ssl);
    if (ssl != NULL)
        resume_ssl_clear(ssl);
    return ret;
}

AR_EXPORT int SSL_connect(SSL *ssl)
{
    REAL(SSL_connect, -1, (ssl));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_connect(ssl);
    HANDSHAKE_CALL(START_CONNECT, ossl.SSL_connect(ssl), -1);
}

AR_EXPORT int SSL_do_handshake(SSL *ssl)
{
    REAL(SSL_do_handshake, -1, (ssl));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_do_handshake(ssl);
    HANDSHAKE_CALL(START_HANDSHAKE, ossl.SSL_do_handshake(ssl), -1);
}

AR_EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
    REAL(SSL_read, -1, (ssl, buf, num));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_read(ssl, buf, num);
    HANDSHAKE_CALL(START_IO, ossl.SSL_read(ssl, buf, num), -1);
}

AR_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
    REAL(SSL_read_ex, 0, (ssl, buf, num, readbytes));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_read_ex(ssl, buf, num, readbytes);
    HANDSHAKE_CALL(START_IO, ossl.SSL_read_ex(ssl, buf, num, readbytes), 0);
}

AR_EXPORT int SSL_peek(SSL *ssl, void *buf, int num)
{
    REAL(SSL_peek, -1, (ssl, buf, num));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_peek(ssl, buf, num);
    HANDSHAKE_CALL(START_IO, ossl.SSL_peek(ssl, buf, num), -1);
}

AR_EXPORT int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
    REAL(SSL_peek_ex, 0, (ssl, buf, num, readbytes));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_peek_ex(ssl, buf, num, readbytes);
    HANDSHAKE_CALL(START_IO, ossl.SSL_peek_ex(ssl, buf, num, readbytes), 0);
}

/* The first write after a resumed handshake closes its TCP_NODELAY window. */
#define WRITE_CALL(call, fail)                                                           \
    do {                                                                                 \
        if (ossl.SSL_is_init_finished(ssl) && nodelay_any_open() && !resume_dead(ssl)) { \
            int ret_ = call;                                                             \
            resume_after_write(ssl, ret_ > 0);                                           \
            return ret_;                                                                 \
        }                                                                                \
        HANDSHAKE_CALL(START_IO, call, fail);                                            \
    } while (0)

AR_EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
    REAL(SSL_write, -1, (ssl, buf, num));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_write(ssl, buf, num);
    WRITE_CALL(ossl.SSL_write(ssl, buf, num), -1);
}

AR_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
    REAL(SSL_write_ex, 0, (ssl, buf, num, written));
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_write_ex(ssl, buf, num, written);
    WRITE_CALL(ossl.SSL_write_ex(ssl, buf, num, written), 0);
}

/*
 * A connection failed by a deferred trust check answers as one whose
 * handshake failed (resume_dead): still in the handshake. libssl calls
 * SSL_in_init through its PLT too, so its own SSL_shutdown, SSL_ctrl, ...
 * see the same (SSL_shutdown then fails with "shutdown while in init").
 */
AR_EXPORT int SSL_is_init_finished(const SSL *ssl)
{
    REAL(SSL_is_init_finished, 0, (ssl));
    return ssl != NULL && resume_dead(ssl) ? 0 : ossl.SSL_is_init_finished(ssl);
}

AR_EXPORT int SSL_in_init(const SSL *ssl)
{
    REAL(SSL_in_init, 0, (ssl));
    return ssl != NULL && resume_dead(ssl) ? 1 : ossl.SSL_in_init(ssl);
}

AR_EXPORT long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
{
    REAL(SSL_CTX_ctrl, 0, (ctx, cmd, larg, parg));
    long result;
    if (ctx != NULL && ossl_ready() && ctx_hook_ctrl(ctx, cmd, larg, &result))
        return result;
    /* Before and after: a probe in another thread while it runs is stale. */
    policy_note_ctx_ctrl(cmd);
    result = ossl.SSL_CTX_ctrl(ctx, cmd, larg, parg);
    policy_note_ctx_ctrl(cmd);
    if (cmd == SSL_CTRL_SESS_CONNECT && ctx != NULL && ossl_ready())
        result = policy_ctx_stat(ctx, cmd, result);
    return result;
}

AR_EXPORT void SSL_CTX_sess_set_new_cb(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *))
{
    REAL_VOID(SSL_CTX_sess_set_new_cb, (ctx, cb));
    if (ctx != NULL && ossl_ready() && ctx_hook_set_new_cb(ctx, cb))
        return;
    ossl.SSL_CTX_sess_set_new_cb(ctx, cb);
}

AR_EXPORT int (*SSL_CTX_sess_get_new_cb(SSL_CTX *ctx))(SSL *, SSL_SESSION *)
{
    REAL(SSL_CTX_sess_get_new_cb, NULL, (ctx));
    int (*cb)(SSL *, SSL_SESSION *);
    if (ctx != NULL && ossl_ready() && ctx_hook_get_new_cb(ctx, &cb))
        return cb;
    return ossl.SSL_CTX_sess_get_new_cb(ctx);
}

AR_EXPORT int SSL_CTX_set_session_id_context(SSL_CTX *ctx, const unsigned char *sid,
                                             unsigned int len)
{
    REAL(SSL_CTX_set_session_id_context, 0, (ctx, sid, len));
    int ret = ossl.SSL_CTX_set_session_id_context(ctx, sid, len);
    if (ret == 1 && ctx != NULL && ossl_ready()) {
        int saved = errno;
        ctx_note_sid(ctx, sid, len);
        errno = saved;
    }
    return ret;
}

AR_EXPORT int SSL_set_session_id_context(SSL *ssl, const unsigned char *sid, unsigned int len)
{
    REAL(SSL_set_session_id_context, 0, (ssl, sid, len));
    int ret = ossl.SSL_set_session_id_context(ssl, sid, len);
    if (ret == 1 && ssl != NULL)
        resume_note_ssl_sid(ssl, sid, len);
    return ret;
}

AR_EXPORT void SSL_CTX_set_cert_verify_callback(SSL_CTX *ctx,
                                                int (*cb)(X509_STORE_CTX *, void *), void *arg)
{
    REAL_VOID(SSL_CTX_set_cert_verify_callback, (ctx, cb, arg));
    ossl.SSL_CTX_set_cert_verify_callback(ctx, cb, arg);
    if (ctx != NULL && ossl_ready()) {
        int saved = errno;
        ctx_note_custom_verify(ctx, cb != NULL);
        errno = saved;
    }
}

/*
 * A connection resumed from a stored session: the session's peer chain,
 * which i2d_SSL_SESSION does not keep, is the one we kept (ossl_verify.h),
 * as a program resuming its own session sees the chain of its session.
 */
AR_EXPORT STACK_OF(X509) *SSL_get_peer_cert_chain(const SSL *ssl)
{
    REAL(SSL_get_peer_cert_chain, NULL, (ssl));
    STACK_OF(X509) *chain = ossl.SSL_get_peer_cert_chain(ssl);
    if (chain == NULL && ssl != NULL && ossl_ready())
        chain = chain_attached(ssl);
    return chain;
}

/* Per-connection group and signature algorithm lists (ossl_policy.h). */
AR_EXPORT long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
    REAL(SSL_ctrl, 0, (ssl, cmd, larg, parg));
    long ret = ossl.SSL_ctrl(ssl, cmd, larg, parg);
    if (ret > 0 && ssl != NULL && ossl_ready()) {
        int saved = errno;
        policy_note_ssl_ctrl(ssl, cmd, larg, parg); /* ignores other commands at once */
        errno = saved;
    }
    return ret;
}

/*
 * The maximum fragment length a connection asks for (RFC 6066): a server
 * resuming a session keeps the session's, so one won under another mode (or
 * none) would run without the limit asked for, or fail with "unsolicited
 * extension". The connection's own mode is folded into its key
 * (policy_note_mfl); the context's is in the probed ClientHello, whose
 * memo a setter call makes stale (the setter is no SSL_CTX_ctrl).
 */
AR_EXPORT int SSL_set_tlsext_max_fragment_length(SSL *ssl, uint8_t mode)
{
    REAL(SSL_set_tlsext_max_fragment_length, 0, (ssl, mode));
    int ret = ossl.SSL_set_tlsext_max_fragment_length(ssl, mode);
    if (ret == 1 && ssl != NULL && ossl_ready()) {
        int saved = errno;
        policy_note_mfl(ssl, mode);
        errno = saved;
    }
    return ret;
}

AR_EXPORT int SSL_CTX_set_tlsext_max_fragment_length(SSL_CTX *ctx, uint8_t mode)
{
    REAL(SSL_CTX_set_tlsext_max_fragment_length, 0, (ctx, mode));
    policy_note_config(); /* before and after, as SSL_CTX_ctrl's list setters */
    int ret = ossl.SSL_CTX_set_tlsext_max_fragment_length(ctx, mode);
    policy_note_config();
    return ret;
}

/* Settings a resumed handshake cannot honour: no offers to that connection. */
static void note_opaque(SSL *ssl, const char *what)
{
    if (ssl != NULL && ossl_ready()) {
        int saved = errno;
        policy_note_opaque(ssl, what);
        errno = saved;
    }
}

AR_EXPORT int SSL_dane_enable(SSL *ssl, const char *basedomain)
{
    REAL(SSL_dane_enable, -1, (ssl, basedomain));
    int ret = ossl.SSL_dane_enable(ssl, basedomain);
    if (ret > 0)
        note_opaque(ssl, "DANE is enabled");
    return ret;
}

AR_EXPORT void SSL_set_cert_cb(SSL *ssl, int (*cb)(SSL *, void *), void *arg)
{
    REAL_VOID(SSL_set_cert_cb, (ssl, cb, arg));
    ossl.SSL_set_cert_cb(ssl, cb, arg);
    if (cb != NULL)
        note_opaque(ssl, "program picks its client certificate per handshake");
}

AR_EXPORT void SSL_CTX_set_cert_cb(SSL_CTX *ctx, int (*cb)(SSL *, void *), void *arg)
{
    REAL_VOID(SSL_CTX_set_cert_cb, (ctx, cb, arg));
    ossl.SSL_CTX_set_cert_cb(ctx, cb, arg);
    if (ctx != NULL && ossl_ready()) {
        int saved = errno;
        ctx_note_cert_cb(ctx, cb != NULL);
        errno = saved;
    }
}

/* Pre-shared keys: who the client is and what it accepts, decided by the
 * program's callback on every full handshake (ossl_ctx.h). */
static void note_psk_ctx(SSL_CTX *ctx, int which, int on)
{
    if (ctx != NULL && ossl_ready()) {
        int saved = errno;
        ctx_note_psk(ctx, which, on);
        errno = saved;
    }
}

AR_EXPORT void SSL_CTX_set_psk_client_callback(SSL_CTX *ctx, SSL_psk_client_cb_func cb)
{
    REAL_VOID(SSL_CTX_set_psk_client_callback, (ctx, cb));
    ossl.SSL_CTX_set_psk_client_callback(ctx, cb);
    note_psk_ctx(ctx, AR_PSK_CLIENT_CB, cb != NULL);
}

AR_EXPORT void SSL_CTX_set_psk_use_session_callback(SSL_CTX *ctx, SSL_psk_use_session_cb_func cb)
{
    REAL_VOID(SSL_CTX_set_psk_use_session_callback, (ctx, cb));
    ossl.SSL_CTX_set_psk_use_session_callback(ctx, cb);
    note_psk_ctx(ctx, AR_PSK_SESSION_CB, cb != NULL);
}

AR_EXPORT void SSL_set_psk_client_callback(SSL *ssl, SSL_psk_client_cb_func cb)
{
    REAL_VOID(SSL_set_psk_client_callback, (ssl, cb));
    ossl.SSL_set_psk_client_callback(ssl, cb);
    if (cb != NULL)
        note_opaque(ssl, "program uses pre-shared keys (a PSK callback)");
}

AR_EXPORT void SSL_set_psk_use_session_callback(SSL *ssl, SSL_psk_use_session_cb_func cb)
{
    REAL_VOID(SSL_set_psk_use_session_callback, (ssl, cb));
    ossl.SSL_set_psk_use_session_callback(ssl, cb);
    if (cb != NULL)
        note_opaque(ssl, "program uses pre-shared keys (a PSK callback)");
}

/*
 * The program's own session ticket and master secret (EAP-FAST, RFC 4851:
 * a PAC sent as the ticket, its key given through the secret callback): an
 * offer of ours would replace the ticket, and the callback would then
 * overwrite our session's master secret. Set non-NULL: no offers.
 */
AR_EXPORT int SSL_set_session_ticket_ext(SSL *ssl, void *ext_data, int ext_len)
{
    REAL(SSL_set_session_ticket_ext, 0, (ssl, ext_data, ext_len));
    int ret = ossl.SSL_set_session_ticket_ext(ssl, ext_data, ext_len);
    if (ret == 1 && ext_data != NULL)
        note_opaque(ssl, "program sends its own session ticket (SSL_set_session_ticket_ext)");
    return ret;
}

AR_EXPORT int SSL_set_session_ticket_ext_cb(SSL *ssl, tls_session_ticket_ext_cb_fn cb, void *arg)
{
    REAL(SSL_set_session_ticket_ext_cb, 0, (ssl, cb, arg));
    int ret = ossl.SSL_set_session_ticket_ext_cb(ssl, cb, arg);
    if (ret == 1 && cb != NULL)
        note_opaque(ssl, "program reads the server's session ticket extension (SSL_set_session_ticket_ext_cb)");
    return ret;
}

AR_EXPORT int SSL_set_session_secret_cb(SSL *ssl, tls_session_secret_cb_fn cb, void *arg)
{
    REAL(SSL_set_session_secret_cb, 0, (ssl, cb, arg));
    int ret = ossl.SSL_set_session_secret_cb(ssl, cb, arg);
    if (ret == 1 && cb != NULL)
        note_opaque(ssl, "program sets the session's master secret (SSL_set_session_secret_cb)");
    return ret;
}

/* OpenSSL's own removal that our cache mode alone brought (ossl_resume.h). */
AR_EXPORT int SSL_CTX_remove_session(SSL_CTX *ctx, SSL_SESSION *sess)
{
    REAL(SSL_CTX_remove_session, 0, (ctx, sess));
    if (ctx != NULL && resume_skip_remove(ctx, sess))
        return 0; /* not in the cache: it never went there without us */
    return ossl.SSL_CTX_remove_session(ctx, sess);
}

/* Every use of a libssl starts here. From 3.0 on, libssl's SSL_CTX_new
 * calls SSL_CTX_new_ex through its PLT, so that hook runs too. */
AR_EXPORT SSL_CTX *SSL_CTX_new(const SSL_METHOD *meth)
{
    REAL_FRESH(SSL_CTX_new, NULL, (meth));
    return ossl.SSL_CTX_new(meth);
}

/* A context with its own library context or properties (ossl_ctx.h). */
AR_EXPORT SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *meth)
{
    REAL_FRESH(SSL_CTX_new_ex, NULL, (libctx, propq, meth));
    SSL_CTX *ctx = ossl.SSL_CTX_new_ex(libctx, propq, meth);
    if (ctx != NULL && (libctx != NULL || propq != NULL) && ossl_ready()) {
        int saved = errno;
        ctx_note_own_libctx(ctx);
        errno = saved;
    }
    return ctx;
}

AR_EXPORT void SSL_CONF_CTX_set_ssl(SSL_CONF_CTX *cctx, SSL *ssl)
{
    REAL_VOID(SSL_CONF_CTX_set_ssl, (cctx, ssl));
    ossl.SSL_CONF_CTX_set_ssl(cctx, ssl);
    note_opaque(ssl, "program configures the connection through SSL_CONF");
}

/* SSL_CONF can change any setting of a context: its probed hello is stale. */
AR_EXPORT int SSL_CONF_cmd(SSL_CONF_CTX *cctx, const char *cmd, const char *value)
{
    REAL(SSL_CONF_cmd, -2, (cctx, cmd, value));
    policy_note_config();
    int ret = ossl.SSL_CONF_cmd(cctx, cmd, value);
    policy_note_config();
    return ret;
}

AR_EXPORT int SSL_CTX_config(SSL_CTX *ctx, const char *name)
{
    REAL(SSL_CTX_config, 0, (ctx, name));
    policy_note_config();
    int ret = ossl.SSL_CTX_config(ctx, name);
    policy_note_config();
    return ret;
}

/* The context's policy as this SSL copies it (ossl_policy.h). */
AR_EXPORT SSL *SSL_new(SSL_CTX *ctx)
{
    REAL_FRESH(SSL_new, NULL, (ctx));
    SSL *ssl = ossl.SSL_new(ctx);
    if (ssl != NULL && ossl_ready()) {
        int saved = errno;
        policy_note_new(ssl);
        errno = saved;
    }
    return ssl;
}

/* Another context's settings, partly: the recorded policy no longer holds. */
AR_EXPORT SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx)
{
    REAL(SSL_set_SSL_CTX, NULL, (ssl, ctx));
    SSL_CTX *old = ssl != NULL ? ossl.SSL_get_SSL_CTX(ssl) : NULL;
    SSL_CTX *ret = ossl.SSL_set_SSL_CTX(ssl, ctx);
    if (ret != NULL && ret != old)
        note_opaque(ssl, "program moved the connection to another context");
    return ret;
}

static void note_custom_ext(SSL_CTX *ctx, int ret)
{
    if (ret == 1 && ctx != NULL && ossl_ready()) {
        int saved = errno;
        policy_note_custom_ext(ctx);
        errno = saved;
    }
}

AR_EXPORT int SSL_CTX_add_client_custom_ext(SSL_CTX *ctx, unsigned int ext_type,
                                            custom_ext_add_cb add_cb, custom_ext_free_cb free_cb,
                                            void *add_arg, custom_ext_parse_cb parse_cb,
                                            void *parse_arg)
{
    REAL(SSL_CTX_add_client_custom_ext, 0, (ctx, ext_type, add_cb, free_cb, add_arg, parse_cb, parse_arg));
    int ret = ossl.SSL_CTX_add_client_custom_ext(ctx, ext_type, add_cb, free_cb, add_arg,
                                                 parse_cb, parse_arg);
    note_custom_ext(ctx, ret);
    return ret;
}

AR_EXPORT int SSL_CTX_add_server_custom_ext(SSL_CTX *ctx, unsigned int ext_type,
                                            custom_ext_add_cb add_cb, custom_ext_free_cb free_cb,
                                            void *add_arg, custom_ext_parse_cb parse_cb,
                                            void *parse_arg)
{
    REAL(SSL_CTX_add_server_custom_ext, 0, (ctx, ext_type, add_cb, free_cb, add_arg, parse_cb, parse_arg));
    int ret = ossl.SSL_CTX_add_server_custom_ext(ctx, ext_type, add_cb, free_cb, add_arg,
                                                 parse_cb, parse_arg);
    note_custom_ext(ctx, ret);
    return ret;
}

AR_EXPORT int SSL_CTX_add_custom_ext(SSL_CTX *ctx, unsigned int ext_type, unsigned int context,
                                     SSL_custom_ext_add_cb_ex add_cb,
                                     SSL_custom_ext_free_cb_ex free_cb, void *add_arg,
                                     SSL_custom_ext_parse_cb_ex parse_cb, void *parse_arg)
{
    REAL(SSL_CTX_add_custom_ext, 0, (ctx, ext_type, context, add_cb, free_cb, add_arg, parse_cb, parse_arg));
    int ret = ossl.SSL_CTX_add_custom_ext(ctx, ext_type, context, add_cb, free_cb, add_arg,
                                          parse_cb, parse_arg);
    note_custom_ext(ctx, ret);
    return ret;
}
