/*
 * hooks_gnutls.c - the exported GnuTLS entry points, siblings of
 * hooks_openssl.c. Each one runs the real function (found in the program's
 * own libgnutls) and tells gtls_resume.c / gtls_state.c what happened
 * around it. Nothing here decides anything.
 *
 * GnuTLS calls its own functions directly, never through these: only the
 * program's calls (and those of libraries it uses, like libcurl-gnutls)
 * arrive here.
 */
#include "gtls_resume.h"
#include "gtls_state.h"
#include "gtls_sym.h"
#include "gtls_verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define AR_EXPORT __attribute__((visibility("default")))

/*
 * Resolve the real function, or fail as a missing libgnutls would let us.
 * A call from an object with a libgnutls of its own, other than the one we
 * resolved (a renamed private copy), goes to that one untouched
 * (ar_route.h): no resumption for it.
 */
#define GTLS_ROUTE(name, fail_stmt, call_stmt)                                           \
    if (route_mixed(&gtls_route)) {                                                      \
        void *real_ = st_ != GTLS_MISSING ? (void *)gtls.name : NULL;                    \
        const void *from_ = __builtin_return_address(0);                                 \
        __typeof__(&name) to_ = (__typeof__(&name))route_fn(&gtls_route, &from_,         \
                                                            GTLS_ROUTE_##name, real_);   \
        if (to_ == NULL)                                                                 \
            fail_stmt;                                                                   \
        if ((void *)to_ != real_) {                                                      \
            const void *was_ = route_via_set(from_);                                     \
            call_stmt;                                                                   \
        }                                                                                \
    }

#define REAL(name, fail, args)                                                           \
    do {                                                                                 \
        enum gtls_status st_ = gtls_load();                                              \
        GTLS_ROUTE(name, { errno = ENOSYS; return fail; },                               \
                   { __typeof__(to_ args) ret_ = to_ args; route_via_set(was_); return ret_; }) \
        if (st_ == GTLS_MISSING || gtls.name == NULL) {                                  \
            errno = ENOSYS;                                                              \
            return fail;                                                                 \
        }                                                                                \
    } while (0)

#define REAL_VOID(name, args)                                                            \
    do {                                                                                 \
        enum gtls_status st_ = gtls_load();                                              \
        GTLS_ROUTE(name, return, { to_ args; route_via_set(was_); return; })              \
        if (st_ == GTLS_MISSING || gtls.name == NULL)                                    \
            return;                                                                      \
    } while (0)

/* Calls a use of a libgnutls starts with (a session, priorities,
 * credentials' settings): a build mapped since the last look is seen
 * before its objects reach another hook (ar_route.h). */
#define REAL_FRESH(name, fail, args)                                                     \
    do {                                                                                 \
        route_refresh(&gtls_route);                                                      \
        REAL(name, fail, args);                                                          \
    } while (0)
#define REAL_VOID_FRESH(name, args)                                                      \
    do {                                                                                 \
        route_refresh(&gtls_route);                                                      \
        REAL_VOID(name, args);                                                           \
    } while (0)

AR_EXPORT int gnutls_init(gnutls_session_t *session, unsigned int flags)
{
    REAL_FRESH(gnutls_init, GNUTLS_E_INTERNAL_ERROR, (session, flags));
    int ret = gtls.gnutls_init(session, gresume_init_flags(flags));
    if (ret == 0 && session != NULL)
        gresume_init(*session, flags);
    return ret;
}

AR_EXPORT void gnutls_handshake_set_hook_function(gnutls_session_t session, unsigned int htype,
                                                  int when, gnutls_handshake_hook_func func)
{
    REAL_VOID(gnutls_handshake_set_hook_function, (session, htype, when, func));
    if (session != NULL && gresume_set_hook(session, htype, when, func))
        return;
    gtls.gnutls_handshake_set_hook_function(session, htype, when, func);
}

AR_EXPORT void gnutls_session_enable_compatibility_mode(gnutls_session_t session)
{
    REAL_VOID(gnutls_session_enable_compatibility_mode, (session));
    gtls.gnutls_session_enable_compatibility_mode(session);
    if (session != NULL)
        gresume_note_compat(session);
}

AR_EXPORT int gnutls_server_name_set(gnutls_session_t session, gnutls_server_name_type_t type,
                                     const void *name, size_t name_length)
{
    REAL(gnutls_server_name_set, GNUTLS_E_INTERNAL_ERROR, (session, type, name, name_length));
    int ret = gtls.gnutls_server_name_set(session, type, name, name_length);
    if (ret == 0 && session != NULL)
        gresume_note_server_name(session, type, name, name_length);
    return ret;
}

AR_EXPORT void gnutls_deinit(gnutls_session_t session)
{
    REAL_VOID(gnutls_deinit, (session));
    if (session != NULL)
        gresume_deinit(session);
    gtls.gnutls_deinit(session);
}

AR_EXPORT int gnutls_handshake(gnutls_session_t session)
{
    REAL(gnutls_handshake, GNUTLS_E_INTERNAL_ERROR, (session));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_handshake(session);
    gresume_before_handshake(session);
    return gresume_after_handshake(session, gtls.gnutls_handshake(session));
}

AR_EXPORT ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t size)
{
    REAL(gnutls_record_recv, GNUTLS_E_INTERNAL_ERROR, (session, data, size));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_recv(session, data, size);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_recv(session, data, size);
    gresume_after_recv(session);
    return ret;
}

AR_EXPORT ssize_t gnutls_record_recv_seq(gnutls_session_t session, void *data, size_t size,
                                         unsigned char *seq)
{
    REAL(gnutls_record_recv_seq, GNUTLS_E_INTERNAL_ERROR, (session, data, size, seq));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_recv_seq(session, data, size, seq);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_recv_seq(session, data, size, seq);
    gresume_after_recv(session);
    return ret;
}

AR_EXPORT ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size)
{
    REAL(gnutls_record_send, GNUTLS_E_INTERNAL_ERROR, (session, data, size));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_send(session, data, size);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_send(session, data, size);
    gresume_after_send(session, ret > 0);
    return ret;
}

/* The other calls that move records: the deferred trust check and the
 * TCP_NODELAY window apply to every one (GnuTLS's gnutls_record_send may
 * call gnutls_record_send2 through its own exports: both checks are
 * idempotent). */
AR_EXPORT ssize_t gnutls_record_send2(gnutls_session_t session, const void *data, size_t size,
                                      size_t pad, unsigned flags)
{
    REAL(gnutls_record_send2, GNUTLS_E_INTERNAL_ERROR, (session, data, size, pad, flags));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_send2(session, data, size, pad, flags);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_send2(session, data, size, pad, flags);
    gresume_after_send(session, ret > 0);
    return ret;
}

AR_EXPORT ssize_t gnutls_record_send_range(gnutls_session_t session, const void *data,
                                           size_t size, const gnutls_range_st *range)
{
    REAL(gnutls_record_send_range, GNUTLS_E_INTERNAL_ERROR, (session, data, size, range));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_send_range(session, data, size, range);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_send_range(session, data, size, range);
    gresume_after_send(session, ret > 0);
    return ret;
}

AR_EXPORT ssize_t gnutls_record_send_file(gnutls_session_t session, int fd, off_t *offset,
                                          size_t count)
{
    REAL(gnutls_record_send_file, GNUTLS_E_INTERNAL_ERROR, (session, fd, offset, count));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_send_file(session, fd, offset, count);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_send_file(session, fd, offset, count);
    gresume_after_send(session, ret > 0);
    return ret;
}

AR_EXPORT ssize_t gnutls_record_recv_packet(gnutls_session_t session, gnutls_packet_t *packet)
{
    REAL(gnutls_record_recv_packet, GNUTLS_E_INTERNAL_ERROR, (session, packet));
    if (session == NULL || !gtls_tracking())
        return gtls.gnutls_record_recv_packet(session, packet);
    if (gresume_io_refused(session))
        return GNUTLS_E_INVALID_SESSION;
    ssize_t ret = gtls.gnutls_record_recv_packet(session, packet);
    gresume_after_recv(session);
    return ret;
}

AR_EXPORT int gnutls_session_set_data(gnutls_session_t session, const void *data,
                                      size_t size)
{
    REAL(gnutls_session_set_data, GNUTLS_E_INTERNAL_ERROR, (session, data, size));
    int ret = gtls.gnutls_session_set_data(session, data, size);
    if (ret == 0 && session != NULL)
        gresume_note_program_data(session, data, size);
    return ret;
}

AR_EXPORT void gnutls_session_set_verify_function(gnutls_session_t session,
                                                  gnutls_certificate_verify_function *func)
{
    REAL_VOID(gnutls_session_set_verify_function, (session, func));
    if (session != NULL && func != NULL && gresume_note_verify_function(session, func))
        func = gtls_session_tramp; /* so we know whether it ran */
    else if (session != NULL)
        gresume_note_verify_function(session, NULL);
    gtls.gnutls_session_set_verify_function(session, func);
}

AR_EXPORT void gnutls_session_set_verify_cert(gnutls_session_t session, const char *hostname,
                                              unsigned flags)
{
    REAL_VOID(gnutls_session_set_verify_cert, (session, hostname, flags));
    gtls.gnutls_session_set_verify_cert(session, hostname, flags);
    if (session == NULL)
        return;
    gresume_note_verify_cert(session, hostname, NULL, 0, flags);
}

AR_EXPORT void gnutls_session_set_verify_cert2(gnutls_session_t session,
                                               gnutls_typed_vdata_st *data, unsigned elements,
                                               unsigned flags)
{
    REAL_VOID(gnutls_session_set_verify_cert2, (session, data, elements, flags));
    gtls.gnutls_session_set_verify_cert2(session, data, elements, flags);
    if (session != NULL)
        gresume_note_verify_cert(session, NULL, data, data != NULL ? elements : 0, flags);
}

AR_EXPORT void gnutls_certificate_set_verify_function(gnutls_certificate_credentials_t cred,
                                                      gnutls_certificate_verify_function *func)
{
    REAL_VOID_FRESH(gnutls_certificate_set_verify_function, (cred, func));
    if (cred != NULL && gtls_ready()) {
        int saved = errno;
        if (gcreds_note_verify(cred, func) == 0 && func != NULL)
            func = gtls_creds_tramp; /* so we know whether it ran */
        else if (func != NULL)
            gtls_give_up("a verify function could not be recorded");
        errno = saved;
    }
    gtls.gnutls_certificate_set_verify_function(cred, func);
}

AR_EXPORT void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t cred)
{
    REAL_VOID_FRESH(gnutls_certificate_free_credentials, (cred));
    if (cred != NULL) /* even when off by now: the address may be reused */
        gcreds_forget(cred);
    gtls.gnutls_certificate_free_credentials(cred);
}

AR_EXPORT void gnutls_certificate_set_verify_limits(gnutls_certificate_credentials_t cred,
                                                    unsigned int max_bits, unsigned int max_depth)
{
    REAL_VOID_FRESH(gnutls_certificate_set_verify_limits, (cred, max_bits, max_depth));
    gtls.gnutls_certificate_set_verify_limits(cred, max_bits, max_depth);
    if (cred != NULL && gtls_ready()) {
        int saved = errno;
        if (gcreds_note_limits(cred, max_bits, max_depth) != 0)
            gtls_give_up("verify limits could not be recorded");
        errno = saved;
    }
}

AR_EXPORT void gnutls_handshake_set_max_packet_length(gnutls_session_t session, size_t max)
{
    REAL_VOID(gnutls_handshake_set_max_packet_length, (session, max));
    gtls.gnutls_handshake_set_max_packet_length(session, max);
    if (session != NULL)
        gresume_note_max_packet(session, max);
}

AR_EXPORT void gnutls_dh_set_prime_bits(gnutls_session_t session, unsigned int bits)
{
    REAL_VOID(gnutls_dh_set_prime_bits, (session, bits));
    gtls.gnutls_dh_set_prime_bits(session, bits);
    if (session != NULL)
        gresume_note_dh_bits(session, bits);
}

AR_EXPORT void gnutls_srp_set_prime_bits(gnutls_session_t session, unsigned int bits)
{
    REAL_VOID(gnutls_srp_set_prime_bits, (session, bits));
    gtls.gnutls_srp_set_prime_bits(session, bits);
    if (session != NULL)
        gresume_note_srp_bits(session, bits);
}

/* What the replay of a resumed handshake's skipped check found, else GnuTLS's. */
AR_EXPORT unsigned gnutls_session_get_verify_cert_status(gnutls_session_t session)
{
    REAL(gnutls_session_get_verify_cert_status, (unsigned)-1, (session));
    unsigned status;
    if (session != NULL && gresume_verify_cert_status(session, &status))
        return status;
    return gtls.gnutls_session_get_verify_cert_status(session);
}

/*
 * Process-wide algorithm settings (GnuTLS 3.7.3+, the allowlisting mode of
 * the system configuration): they change what every priority string means,
 * and no key can hold them. Once one is changed, nothing more is offered or
 * kept in this process.
 */
#define GLOBAL_SETTING(name, arg_type)                                                   \
    AR_EXPORT int name(arg_type what, unsigned int on)                                   \
    {                                                                                    \
        REAL_FRESH(name, GNUTLS_E_INTERNAL_ERROR, (what, on));                           \
        int ret = gtls.name(what, on);                                                   \
        if (ret == 0 && gtls_ready()) {                                                  \
            int saved = errno;                                                           \
            gtls_give_up("the program changed GnuTLS's algorithm settings (" #name ")"); \
            errno = saved;                                                               \
        }                                                                                \
        return ret;                                                                      \
    }
GLOBAL_SETTING(gnutls_ecc_curve_set_enabled, gnutls_ecc_curve_t)
GLOBAL_SETTING(gnutls_sign_set_secure, gnutls_sign_algorithm_t)
GLOBAL_SETTING(gnutls_sign_set_secure_for_certs, gnutls_sign_algorithm_t)
GLOBAL_SETTING(gnutls_digest_set_secure, gnutls_digest_algorithm_t)
GLOBAL_SETTING(gnutls_protocol_set_enabled, gnutls_protocol_t)

/* A client certificate chosen per handshake: sessions of such credentials are not offered. */
#define PICKS_CERT(name, fn_type)                                                        \
    AR_EXPORT void name(gnutls_certificate_credentials_t cred, fn_type *func)            \
    {                                                                                    \
        REAL_VOID_FRESH(name, (cred, func));                                             \
        gtls.name(cred, func);                                                           \
        if (cred != NULL && func != NULL && gtls_ready()) {                              \
            int saved = errno;                                                           \
            gcreds_note_picks_cert(cred);                                                \
            errno = saved;                                                               \
        }                                                                                \
    }
PICKS_CERT(gnutls_certificate_set_retrieve_function, gnutls_certificate_retrieve_function)
PICKS_CERT(gnutls_certificate_set_retrieve_function2, gnutls_certificate_retrieve_function2)
PICKS_CERT(gnutls_certificate_set_retrieve_function3, gnutls_certificate_retrieve_function3)

/* Push/pull functions: the transport pointer is the program's, not a socket. */
#define CUSTOM_TRANSPORT(name, fn_type)                                                  \
    AR_EXPORT void name(gnutls_session_t session, fn_type func)                          \
    {                                                                                    \
        REAL_VOID(name, (session, func));                                                \
        gtls.name(session, func);                                                        \
        if (session != NULL && func != NULL)                                             \
            gresume_note_custom_transport(session);                                      \
    }
CUSTOM_TRANSPORT(gnutls_transport_set_push_function, gnutls_push_func)
CUSTOM_TRANSPORT(gnutls_transport_set_vec_push_function, gnutls_vec_push_func)
CUSTOM_TRANSPORT(gnutls_transport_set_pull_function, gnutls_pull_func)

/*
 * Priorities: the key holds the text they were made from. A cache's text is
 * kept from gnutls_priority_init* until gnutls_priority_deinit.
 */
static void note_cache(gnutls_priority_t cache, const char *text, int append)
{
    char buf[2048];
    if (cache == NULL || !gtls_ready())
        return;
    int saved = errno;
    if (text == NULL)
        text = "@default";
    else if (append && snprintf(buf, sizeof buf, "@default:%s", text) < (int)sizeof buf)
        text = buf;
    else if (append)
        text = NULL;
    if (text == NULL || gprio_note(cache, text) != 0)
        gprio_forget(cache); /* unknown: sessions using it are not offered */
    errno = saved;
}

AR_EXPORT int gnutls_priority_init(gnutls_priority_t *cache, const char *priorities,
                                   const char **err_pos)
{
    REAL_FRESH(gnutls_priority_init, GNUTLS_E_INTERNAL_ERROR, (cache, priorities, err_pos));
    int ret = gtls.gnutls_priority_init(cache, priorities, err_pos);
    if (ret == 0 && cache != NULL)
        note_cache(*cache, priorities, 0);
    return ret;
}

AR_EXPORT int gnutls_priority_init2(gnutls_priority_t *cache, const char *priorities,
                                    const char **err_pos, unsigned flags)
{
    REAL_FRESH(gnutls_priority_init2, GNUTLS_E_INTERNAL_ERROR, (cache, priorities, err_pos, flags));
    int ret = gtls.gnutls_priority_init2(cache, priorities, err_pos, flags);
    if (ret == 0 && cache != NULL)
        note_cache(*cache, priorities, (flags & GNUTLS_PRIORITY_INIT_DEF_APPEND) != 0);
    return ret;
}

AR_EXPORT void gnutls_priority_deinit(gnutls_priority_t cache)
{
    REAL_VOID(gnutls_priority_deinit, (cache));
    if (cache != NULL) /* even when off by now: the address may be reused */
        gprio_forget(cache);
    gtls.gnutls_priority_deinit(cache);
}

AR_EXPORT int gnutls_priority_set(gnutls_session_t session, gnutls_priority_t cache)
{
    REAL(gnutls_priority_set, GNUTLS_E_INTERNAL_ERROR, (session, cache));
    int ret = gtls.gnutls_priority_set(session, cache);
    if (ret == 0 && session != NULL && gtls_tracking()) {
        int saved = errno;
        char *text = cache != NULL ? gprio_dup(cache) : NULL;
        gresume_note_priority(session, text);
        free(text);
        errno = saved;
    }
    return ret;
}

AR_EXPORT int gnutls_priority_set_direct(gnutls_session_t session, const char *priorities,
                                         const char **err_pos)
{
    REAL(gnutls_priority_set_direct, GNUTLS_E_INTERNAL_ERROR, (session, priorities, err_pos));
    int ret = gtls.gnutls_priority_set_direct(session, priorities, err_pos);
    if (ret == 0 && session != NULL)
        gresume_note_priority(session, priorities != NULL ? priorities : "@default");
    return ret;
}

AR_EXPORT int gnutls_set_default_priority(gnutls_session_t session)
{
    REAL(gnutls_set_default_priority, GNUTLS_E_INTERNAL_ERROR, (session));
    int ret = gtls.gnutls_set_default_priority(session);
    if (ret == 0 && session != NULL)
        gresume_note_priority(session, "@default");
    return ret;
}

AR_EXPORT int gnutls_set_default_priority_append(gnutls_session_t session, const char *add_prio,
                                                 const char **err_pos, unsigned flags)
{
    REAL(gnutls_set_default_priority_append, GNUTLS_E_INTERNAL_ERROR, (session, add_prio, err_pos, flags));
    int ret = gtls.gnutls_set_default_priority_append(session, add_prio, err_pos, flags);
    if (ret == 0 && session != NULL && gtls_tracking()) {
        char buf[2048];
        int n = snprintf(buf, sizeof buf, "@default:%s", add_prio ? add_prio : "");
        gresume_note_priority(session, n > 0 && n < (int)sizeof buf ? buf : NULL);
    }
    return ret;
}
