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
#include "ossl_resume.h"
#include "ossl_state.h"
#include "ossl_sym.h"

#include <errno.h>

#define AR_EXPORT __attribute__((visibility("default")))

/*
 * Resolve the real function, or fail like a missing libssl would let us:
 * we cannot be called unless the caller linked against a libssl, so this
 * only triggers if that library vanished from view.
 */
#define REAL(name, fail)                                                                 \
    do {                                                                                 \
        if (ossl_load() == OSSL_MISSING || ossl.name == NULL) {                          \
            errno = ENOSYS;                                                              \
            return fail;                                                                 \
        }                                                                                \
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
        if (how == START_IO && !resume_finish_first(ssl))                                \
            return fail;                                                                 \
        int ret_ = call;                                                                 \
        return resume_after(ssl, ret_) ? ret_ : fail;                                    \
    } while (0)

AR_EXPORT int SSL_clear(SSL *ssl)
{
    REAL(SSL_clear, 0);
    int ret = ossl.SSL_clear(ssl);
    if (ssl != NULL)
        resume_ssl_clear(ssl);
    return ret;
}

AR_EXPORT int SSL_connect(SSL *ssl)
{
    REAL(SSL_connect, -1);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_connect(ssl);
    HANDSHAKE_CALL(START_CONNECT, ossl.SSL_connect(ssl), -1);
}

AR_EXPORT int SSL_do_handshake(SSL *ssl)
{
    REAL(SSL_do_handshake, -1);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_do_handshake(ssl);
    HANDSHAKE_CALL(START_HANDSHAKE, ossl.SSL_do_handshake(ssl), -1);
}

AR_EXPORT int SSL_read(SSL *ssl, void *buf, int num)
{
    REAL(SSL_read, -1);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_read(ssl, buf, num);
    HANDSHAKE_CALL(START_IO, ossl.SSL_read(ssl, buf, num), -1);
}

AR_EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
    REAL(SSL_read_ex, 0);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_read_ex(ssl, buf, num, readbytes);
    HANDSHAKE_CALL(START_IO, ossl.SSL_read_ex(ssl, buf, num, readbytes), 0);
}

AR_EXPORT int SSL_peek(SSL *ssl, void *buf, int num)
{
    REAL(SSL_peek, -1);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_peek(ssl, buf, num);
    HANDSHAKE_CALL(START_IO, ossl.SSL_peek(ssl, buf, num), -1);
}

AR_EXPORT int SSL_peek_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
    REAL(SSL_peek_ex, 0);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_peek_ex(ssl, buf, num, readbytes);
    HANDSHAKE_CALL(START_IO, ossl.SSL_peek_ex(ssl, buf, num, readbytes), 0);
}

/* The first write after a resumed handshake closes its TCP_NODELAY window. */
#define WRITE_CALL(call, fail)                                                           \
    do {                                                                                 \
        if (ossl.SSL_is_init_finished(ssl) && nodelay_any_open() && !resume_dead(ssl)) { \
            int ret_ = call;                                                             \
            resume_after_write(ssl);                                                     \
            return ret_;                                                                 \
        }                                                                                \
        HANDSHAKE_CALL(START_IO, call, fail);                                            \
    } while (0)

AR_EXPORT int SSL_write(SSL *ssl, const void *buf, int num)
{
    REAL(SSL_write, -1);
    if (ssl == NULL || ossl.SSL_is_init_finished == NULL)
        return ossl.SSL_write(ssl, buf, num);
    WRITE_CALL(ossl.SSL_write(ssl, buf, num), -1);
}

AR_EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
    REAL(SSL_write_ex, 0);
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
    REAL(SSL_is_init_finished, 0);
    return ssl != NULL && resume_dead(ssl) ? 0 : ossl.SSL_is_init_finished(ssl);
}

AR_EXPORT int SSL_in_init(const SSL *ssl)
{
    REAL(SSL_in_init, 0);
    return ssl != NULL && resume_dead(ssl) ? 1 : ossl.SSL_in_init(ssl);
}

AR_EXPORT long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
{
    REAL(SSL_CTX_ctrl, 0);
    long result;
    if (ctx != NULL && ossl_ready() && ctx_hook_ctrl(ctx, cmd, larg, &result))
        return result;
    return ossl.SSL_CTX_ctrl(ctx, cmd, larg, parg);
}

AR_EXPORT void SSL_CTX_sess_set_new_cb(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *))
{
    if (ossl_load() == OSSL_MISSING || ossl.SSL_CTX_sess_set_new_cb == NULL)
        return;
    if (ctx != NULL && ossl_ready() && ctx_hook_set_new_cb(ctx, cb))
        return;
    ossl.SSL_CTX_sess_set_new_cb(ctx, cb);
}

AR_EXPORT int (*SSL_CTX_sess_get_new_cb(SSL_CTX *ctx))(SSL *, SSL_SESSION *)
{
    REAL(SSL_CTX_sess_get_new_cb, NULL);
    int (*cb)(SSL *, SSL_SESSION *);
    if (ctx != NULL && ossl_ready() && ctx_hook_get_new_cb(ctx, &cb))
        return cb;
    return ossl.SSL_CTX_sess_get_new_cb(ctx);
}

AR_EXPORT int SSL_CTX_set_session_id_context(SSL_CTX *ctx, const unsigned char *sid,
                                             unsigned int len)
{
    REAL(SSL_CTX_set_session_id_context, 0);
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
    REAL(SSL_set_session_id_context, 0);
    int ret = ossl.SSL_set_session_id_context(ssl, sid, len);
    if (ret == 1 && ssl != NULL)
        resume_note_ssl_sid(ssl, sid, len);
    return ret;
}

AR_EXPORT void SSL_CTX_set_cert_verify_callback(SSL_CTX *ctx,
                                                int (*cb)(X509_STORE_CTX *, void *), void *arg)
{
    if (ossl_load() == OSSL_MISSING || ossl.SSL_CTX_set_cert_verify_callback == NULL)
        return;
    ossl.SSL_CTX_set_cert_verify_callback(ctx, cb, arg);
    if (ctx != NULL && ossl_ready()) {
        int saved = errno;
        ctx_note_custom_verify(ctx, cb != NULL);
        errno = saved;
    }
}
