/*
 * gtls_resume.c - offer, capture, outcome for GnuTLS. See gtls_resume.h.
 *
 * Sessions go in and out through GnuTLS's own API: gnutls_session_set_data
 * before the handshake, gnutls_session_get_data2 once a session is
 * resumable (after a TLS 1.2 handshake; after a TLS 1.3 ticket arrived,
 * which GnuTLS reports with GNUTLS_SFLAGS_SESSION_TICKET). Keys, table,
 * store and the keep/take/drop policy are shared with OpenSSL (ar_state.h).
 */
#include "gtls_resume.h"
#include "ar_env.h"
#include "ar_log.h"
#include "ar_stats.h"
#include "gtls_key.h"
#include "gtls_state.h"
#include "gtls_verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int wire_version(gnutls_protocol_t v)
{
    switch (v) {
    case GNUTLS_TLS1_0: return 0x0301;
    case GNUTLS_TLS1_1: return 0x0302;
    case GNUTLS_TLS1_2: return 0x0303;
    case GNUTLS_TLS1_3: return 0x0304;
    case GNUTLS_DTLS1_0: return 0xfeff;
    case GNUTLS_DTLS1_2: return 0xfefd;
    default: return 0;
    }
}

/* Spelled as OpenSSL spells it (TLSv1.3; gnutls_protocol_get_name says TLS1.3). */
static const char *version_name(gnutls_session_t s)
{
    return log_protocol_name(wire_version(gtls.gnutls_protocol_get_version(s)));
}

/*
 * Our handshake hook: a NewSessionTicket (TLS 1.3, and TLS 1.2's RFC 5077)
 * starts with its lifetime in seconds, 32 bits big-endian. Read before
 * GnuTLS parses it (GNUTLS_HOOK_PRE): the POST call gets what parsing left.
 * Then the program's hook, if its filter matches, as _gnutls_call_hook_func
 * would.
 */
static int ticket_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg)
{
    struct gtls_conn *c = gconn_get(s);
    if (c == NULL)
        return 0;
    if (htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && when == GNUTLS_HOOK_PRE && incoming &&
        msg != NULL && msg->data != NULL && msg->size >= 4) {
        const unsigned char *p = msg->data;
        c->lifetime = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
                      (unsigned long)p[2] << 8 | p[3];
        c->lifetime_known = 1;
    }
    if (c->phook != NULL && (c->phtype == GNUTLS_HANDSHAKE_ANY || c->phtype == htype) &&
        (c->phwhen == GNUTLS_HOOK_BOTH || c->phwhen == (int)when))
        return c->phook(s, htype, when, incoming, msg);
    return 0;
}

static void note_late(gnutls_session_t s, struct gtls_conn *c, int err);
static int hook_sees_skipped(unsigned htype);

int gresume_set_hook(gnutls_session_t s, unsigned htype, int when, gnutls_handshake_hook_func func)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    /* GnuTLS treats a hook for CHANGE_CIPHER_SPEC alone specially: leave it be. */
    if (c == NULL || htype == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC)
        return 0;
    c->phook = func;
    c->phtype = htype;
    c->phwhen = when;
    if (func != NULL)
        gtls.gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, ticket_hook);
    else
        gtls.gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                                GNUTLS_HOOK_PRE, ticket_hook);
    /* A pin on the server's Certificate refuses it in a full handshake
     * (GNUTLS_E_CERTIFICATE_ERROR from such hooks); a resumed one has none. */
    note_late(s, c, func != NULL && hook_sees_skipped(htype) ? GNUTLS_E_CERTIFICATE_ERROR : 0);
    return 1;
}

unsigned gresume_init_flags(unsigned flags)
{
    if ((flags & (GNUTLS_SERVER | GNUTLS_DATAGRAM)) || !(flags & GNUTLS_NO_TICKETS) || !gtls_ready())
        return flags;
    /* GNUTLS_NO_TICKETS_TLS12 is new in 3.7.5: an older GnuTLS would not
     * know it, and send TLS 1.2 tickets the program turned off. */
    if (gtls.gnutls_check_version("3.7.5") == NULL)
        return flags;
    return (flags & ~(unsigned)GNUTLS_NO_TICKETS) | GNUTLS_NO_TICKETS_TLS12;
}

void gresume_init(gnutls_session_t s, unsigned flags)
{
    /* Clients only; DTLS is left alone (its sessions are not ours to judge). */
    if ((flags & GNUTLS_SERVER) || (flags & GNUTLS_DATAGRAM) || !gtls_ready())
        return;
    int saved = errno;
    struct gtls_conn *c = gconn_attach(s);
    if (c == NULL)
        log_warn("out of memory following a GnuTLS session; it will not resume");
    else {
        c->init_flags = flags;
        gtls.gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                                GNUTLS_HOOK_PRE, ticket_hook);
    }
    errno = saved;
}

void gresume_note_compat(gnutls_session_t s)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c != NULL && !c->started)
        c->compat = 1;
}

/*
 * Keep the session GnuTLS holds now, with what an offer will need.
 * may_defer: judging it may wait for the program's first record I/O.
 */
static void capture(gnutls_session_t s, struct gtls_conn *c, int may_defer)
{
    struct ar_session ss;
    gnutls_datum_t d = {NULL, 0};
    int64_t now = now_seconds();

    if (c->key == NULL || c->program_data || !gtls_ready())
        return; /* gtls_ready: not since a setting we cannot key changed (gtls_give_up) */
    if (c->picks_cert && gtls.gnutls_certificate_client_get_request_status(s)) {
        log_debug("%s: not stored: the server asked for a client certificate the program "
                  "chooses per handshake", c->label);
        return;
    }
    memset(&ss, 0, sizeof ss);
    ss.version = wire_version(gtls.gnutls_protocol_get_version(s));
    if (ss.version == 0)
        return;
    ss.single_use = ss.version >= 0x0304;
    if (c->offered && gtls.gnutls_session_is_resumed(s)) {
        /* A resumption: no certificate came; the original handshake's stand. */
        ss.born = c->born;
        ss.verify_result = c->status;
        if (blob_copy(&ss.chain, &c->chain) != 0)
            return;
    } else {
        ss.born = now;
        if (gtls_chain_encode(s, &ss.chain) != 0)
            return; /* no certificate: not a session we can re-check */
        ss.verify_result = gtls_trust_status(s, c, &ss.chain, gtls_expected_host(c));
        /* The session's own checks too (priorities' profile, verify limits,
         * OCSP): the trust list alone accepts a key too small for
         * %PROFILE_ULTRA, which a program verifying full handshakes only
         * would then never see checked. The offer re-checks the trust list. */
        if (ss.verify_result == 0)
            ss.verify_result = gtls_handshake_status(s, gtls_expected_host(c));
        /* Nothing in the handshake verifies: the program checks afterwards,
         * or never, and may skip its check on a resumed session, trusting
         * its own cache. Keep only sessions whose certificate is trusted. */
        if (!c->verify_in_hs && ss.verify_result != 0 && may_defer && gtls_trust_empty(s)) {
            /* No trust loaded yet (libcurl 8 loads it when it verifies,
             * after the handshake): judge the session once it is. */
            c->capture_later = 1;
            session_clear(&ss);
            return;
        }
        if (!c->verify_in_hs && ss.verify_result != 0) {
            log_debug("%s: not stored: certificate not trusted and the handshake does not "
                      "verify it", c->label);
            session_clear(&ss);
            return;
        }
    }
    ss.expires = ss.born + (ss.single_use ? AR_MAX_AGE_TLS13 : AR_MAX_AGE_TLS12);
    /* The server's lifetime of the ticket that came last, if one came. */
    if (c->lifetime_known) {
        c->lifetime_known = 0;
        if (ss.single_use && c->lifetime == 0) {
            session_clear(&ss); /* RFC 8446 4.6.1: lifetime 0 means do not keep */
            return;
        }
        if (c->lifetime > 0 && now + (int64_t)c->lifetime < ss.expires)
            ss.expires = now + (int64_t)c->lifetime;
    }
    if (gtls.gnutls_session_get_data2(s, &d) < 0 || d.data == NULL || d.size == 0) {
        session_clear(&ss);
        return;
    }
    ss.der.data = malloc(d.size);
    if (ss.der.data != NULL) {
        memcpy(ss.der.data, d.data, d.size);
        ss.der.len = d.size;
    }
    gtls_free_mem(d.data);
    if (ss.der.data == NULL) {
        session_clear(&ss);
        return;
    }
    /* Stapled OCSP responses travel in the session data and are checked
     * again on resumption: past a nextUpdate the resumed session fails
     * where a full handshake would get a fresh response. */
    int64_t ocsp_until = gtls_ocsp_expiry(s, now);
    if (ocsp_until != 0 && ocsp_until <= now) {
        log_debug("%s: not stored: its stapled OCSP response is out of date or unreadable",
                  c->label);
        session_clear(&ss);
        return;
    }
    if (ocsp_until != 0 && ocsp_until < ss.expires) {
        ss.expires = ocsp_until;
        log_debug("%s: kept until its stapled OCSP response's next update, in %lld s", c->label,
                  (long long)(ocsp_until - now));
    }
    const char *what = ss.single_use ? "ticket" : "session";
    if (state_keep(c->key, c->label, &ss, now) == 0)
        log_debug("%s: stored %s %s", c->label, what, version_name(s));
}

/*
 * Whether a program's handshake hook for messages of type htype is for one
 * that a resumed handshake does not have (a certificate pin, say, in a hook
 * on the Certificate message): a full handshake runs it, a resumed one
 * could not, so no offer. The types a resumed handshake has are listed;
 * any other (the certificate, its status, compressed or supplemental data,
 * the key exchange, ...; a type newer than this list) counts as skipped. A
 * hook on every message (GNUTLS_HANDSHAKE_ANY) is how programs watch a
 * handshake (libcurl 8 traces it and takes its tickets; a program resuming
 * its own sessions skips messages the same way): it is allowed, and in the
 * key (gtls_key.c), so such a connection only resumes sessions won by one
 * that had such a hook too.
 */
static int hook_sees_skipped(unsigned htype)
{
    switch (htype) {
    case GNUTLS_HANDSHAKE_ANY:
    case GNUTLS_HANDSHAKE_HELLO_REQUEST:
    case GNUTLS_HANDSHAKE_CLIENT_HELLO:
    case GNUTLS_HANDSHAKE_SERVER_HELLO:
    case GNUTLS_HANDSHAKE_HELLO_VERIFY_REQUEST:
    case GNUTLS_HANDSHAKE_NEW_SESSION_TICKET:
    case GNUTLS_HANDSHAKE_END_OF_EARLY_DATA:
    case GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST:
    case GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS:
    case GNUTLS_HANDSHAKE_FINISHED:
    case GNUTLS_HANDSHAKE_KEY_UPDATE:
    case GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC:
    case GNUTLS_HANDSHAKE_CLIENT_HELLO_V2:
        return 0;
    default:
        return 1;
    }
}

/*
 * Whether the settings now key the connection as when it was offered (and
 * no hook is for a message a resumed handshake skips): NULL, or why not.
 * c->key and what gtls_key_make sets beside it are left as they were.
 */
static const char *late_differs(gnutls_session_t s, struct gtls_conn *c)
{
    if (c->phook != NULL && hook_sees_skipped(c->phtype))
        return "the program now hooks handshake messages a resumed handshake does not have";
    char *offered_key = c->key, label[sizeof c->label];
    int picks = c->picks_cert, in_hs = c->verify_in_hs;
    const char *why = NULL;
    memcpy(label, c->label, sizeof label);
    c->key = NULL;
    int made = gtls_key_make(s, c, &why) == 0;
    int same = made && offered_key != NULL && strcmp(c->key, offered_key) == 0;
    free(c->key);
    c->key = offered_key;
    memcpy(c->label, label, sizeof label);
    c->picks_cert = picks;
    c->verify_in_hs = in_hs;
    if (same)
        return NULL;
    return made ? "a setting in its key changed" : why;
}

/*
 * The program changed a setting of the key, or its hook, after the first
 * handshake call (say after a GNUTLS_E_AGAIN): GnuTLS applies it to the
 * rest of the handshake, so a full handshake would have been judged by it.
 * err: the error a full handshake refused by that setting returns. Nothing
 * of such a handshake is kept (its key is the start's); an offered session
 * is checked against the new settings now and once more at the end of the
 * handshake (gresume_after_handshake), the first difference winning.
 */
static void note_late(gnutls_session_t s, struct gtls_conn *c, int err)
{
    if (!c->started || c->finished)
        return;
    int saved = errno;
    c->late_change = 1;
    if (err != 0)
        c->late_kind_err = err;
    if (c->offered && c->late_err == 0) {
        const char *why = late_differs(s, c);
        if (why != NULL) {
            c->late_err = c->late_kind_err != 0 ? c->late_kind_err : GNUTLS_E_CERTIFICATE_ERROR;
            log_debug("%s: changed during the handshake: %s", c->label, why);
        }
    }
    errno = saved;
}

/* What the program's verification data say now, as the handshake reads them. */
static void snapshot_verify_cert(struct gtls_conn *c)
{
    if (c->vkind != GV_AUTO)
        return;
    gnutls_typed_vdata_st host = {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)c->prog_host, 0};
    const gnutls_typed_vdata_st *data = c->prog_vdata != NULL ? c->prog_vdata : &host;
    unsigned n = c->prog_vdata != NULL ? c->prog_velems : c->prog_host != NULL ? 1 : 0;
    if (gconn_set_vdata(c, data, n, 0) != 0) {
        c->unreplayable = 1; /* we could not replay its check: offer nothing */
        log_warn("out of memory recording a verification; this session will not resume");
    }
}

/* Offer a stored session; returns a reason when not. */
static const char *offer(gnutls_session_t s, struct gtls_conn *c)
{
    struct ar_session ss;
    const char *why = NULL;

    if (gtls_key_make(s, c, &why) != 0)
        return why;
    log_debug("%s: key %s", c->label, c->key);
    if (c->program_data)
        return "program set its own session";
    if (c->unreplayable)
        return "a server name or verification we cannot key (NUL inside, out of memory)";
    if (c->phook != NULL && hook_sees_skipped(c->phtype))
        return "program hooks handshake messages a resumed handshake does not have";
    int from_store;
    int found = state_take(c->key, &ss, &from_store);
    if (found <= 0)
        return found < 0 ? "out of memory" : "no session";
    /* Trusted when it was won but not any more (other CA, other flags): a
     * full handshake may meet a certificate that is trusted now. And where
     * the handshake does not verify, only trusted certificates go (capture). */
    long now_status = gtls_trust_status(s, c, &ss.chain, gtls_expected_host(c));
    /* Nothing to check against yet, and the handshake does not verify: the
     * program loads its trust after the handshake (libcurl 8). The check
     * waits for its first record I/O (gresume_io_refused). */
    int defer = now_status != 0 && !c->verify_in_hs && gtls_trust_empty(s);
    if (now_status != 0 && !defer && (ss.verify_result == 0 || !c->verify_in_hs)) {
        if (ss.single_use) /* another connection, with other trust, may still use it */
            state_keep(c->key, c->label, &ss, now_seconds());
        session_clear(&ss);
        return "its certificate is not trusted by this connection";
    }
    int ret = gtls.gnutls_session_set_data(s, ss.der.data, ss.der.len);
    if (ret < 0) {
        log_debug("%s: gnutls_session_set_data: %s", c->label, gtls.gnutls_strerror(ret));
        session_clear(&ss);
        state_drop(c->key);
        return "stored session unreadable";
    }
    c->offered = 1;
    c->recheck_io = defer;
    if (defer)
        log_debug("%s: no trust loaded yet: the trust check waits for the first record",
                  c->label);
    c->born = ss.born;
    c->status = ss.verify_result;
    c->chain = ss.chain; /* kept for the tickets this resumption brings */
    ss.chain.data = NULL;
    ss.chain.len = 0;
    session_clear(&ss);
    return NULL;
}

void gresume_before_handshake(gnutls_session_t s)
{
    if (!gtls_ready())
        return;
    struct gtls_conn *c = gconn_get(s);
    if (c != NULL && c->finished)
        c->vc_replayed = 0; /* a later handshake: GnuTLS's status from now on */
    if (c == NULL || c->started)
        return;
    int saved = errno;
    c->started = 1;
    c->verify_ran = 0;
    snapshot_verify_cert(c);
    c->why_not = offer(s, c);
    state_note_offer(c->label, c->program_data, c->why_not);
    errno = saved;
}

/* The server refused our session (see state_drop_born). Once per session. */
static void drop_stale(struct gtls_conn *c)
{
    if (c->dropped)
        return;
    c->dropped = 1;
    state_drop_born(c->key, c->born);
}

int gresume_after_handshake(gnutls_session_t s, int ret)
{
    if (!gtls_ready())
        return ret;
    struct gtls_conn *c = gconn_get(s);
    if (c == NULL || !c->started || c->finished)
        return ret;
    int saved = errno;
    if (ret == 0) {
        c->finished = 1;
        int resumed = gtls.gnutls_session_is_resumed(s) != 0;
        int tls13 = gtls.gnutls_protocol_get_version(s) == GNUTLS_TLS1_3;
        if (c->offered && resumed && c->late_change && c->late_err == 0) {
            const char *why = late_differs(s, c);
            if (why != NULL) {
                c->late_err = c->late_kind_err != 0 ? c->late_kind_err : GNUTLS_E_CERTIFICATE_ERROR;
                log_debug("%s: changed during the handshake: %s", c->label, why);
            }
        }
        if (c->offered && resumed && c->late_err != 0) {
            /* A full handshake would have been judged by the settings the
             * program made meanwhile: fail as a rejected replay does. */
            c->poisoned = 1;
            stats_add(AR_STAT_FAILED);
            log_info("%s handshake failed (resumed, but the program changed a setting of the "
                     "session's key during the handshake: %s)", c->label,
                     gtls.gnutls_strerror(c->late_err));
            errno = saved;
            return c->late_err;
        }
        if (c->offered && resumed) {
            /* GnuTLS reads the program's name and data when it verifies,
             * not when the handshake starts: a program may rewrite them in
             * between (after a GNUTLS_E_AGAIN, say). The replay checks
             * what they say now, as a full handshake would have. */
            snapshot_verify_cert(c);
            unsigned vc = (unsigned)-1;
            int v = c->unreplayable ? GNUTLS_E_MEMORY_ERROR : gtls_replay_verify(s, c, &vc);
            c->vc_replayed = vc != (unsigned)-1;
            c->vc_status = vc;
            if (v != 0 && vc != (unsigned)-1 && (vc & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)) {
                /* Its stapled OCSP response is out of date: so are those
                 * of the key's other sessions from that handshake. */
                state_drop(c->key);
                log_info("%s: sessions dropped: the stapled OCSP response is out of date",
                         c->label);
            }
            if (v != 0) {
                /* Fine for the trust it was won under: other runs with that
                 * trust may still use the key's sessions; this one is spent. */
                c->poisoned = 1;
                stats_add(AR_STAT_FAILED);
                log_info("%s handshake failed (resumed, but the program's verification "
                         "rejects the certificate: %s)", c->label, gtls.gnutls_strerror(v));
                errno = saved;
                return v;
            }
        }
        if (state_note_handshake(c->label, version_name(s), c->program_data, c->offered, resumed,
                                 c->why_not))
            drop_stale(c);
        if (!(c->offered && resumed))
            c->recheck_io = 0; /* a full handshake: the program checks it as always */
        if (c->offered && resumed && !c->custom_transport)
            nodelay_begin(&c->nodelay, gtls.gnutls_transport_get_int(s));
        /* TLS 1.2: the session, unless this resumed it and no new ticket came.
         * Settings changed during the handshake: its key is not what judged
         * it (a stricter one for a handshake passed by looser settings). */
        if (c->late_change)
            log_debug("%s: not stored: the program changed a setting of the key during the "
                      "handshake", c->label);
        else if (!tls13 &&
                 (!resumed || (gtls.gnutls_session_get_flags(s) & GNUTLS_SFLAGS_SESSION_TICKET)))
            capture(s, c, 1);
        else
            c->want_ticket = c->key != NULL && !c->program_data;
    } else if (gtls.gnutls_error_is_fatal(ret)) {
        c->finished = 1;
        stats_add(AR_STAT_FAILED);
        if (c->offered && c->key != NULL)
            state_drop(c->key);
        log_info("%s handshake failed (%s: %s)", c->label[0] ? c->label : "?",
                 c->offered ? "with an offered session: its sessions dropped"
                 : c->why_not ? c->why_not : "no session offered",
                 gtls.gnutls_strerror(ret));
    }
    errno = saved;
    return ret;
}

/*
 * The trust check an offer could not make (see offer): by its first record
 * the program has loaded its trust (libcurl 8 verifies right after the
 * handshake). If it still trusts nothing, it verifies nothing with these
 * credentials, and a full handshake would have been accepted as well.
 */
static void recheck_trust(gnutls_session_t s, struct gtls_conn *c)
{
    if (gtls_trust_empty(s)) {
        log_debug("%s: still no trust loaded: nothing to check against", c->label);
        return;
    }
    if (gtls_trust_status(s, c, &c->chain, gtls_expected_host(c)) == 0)
        return;
    c->poisoned = 1;
    stats_add(AR_STAT_FAILED);
    log_info("%s records refused (resumed, but its certificate is not trusted by this "
             "connection)", c->label);
}

/* Taken only for a session with a deferred check, at its first I/O calls,
 * so that a sending and a receiving thread both wait for the verdict. */
static pthread_mutex_t deferred_lock = PTHREAD_MUTEX_INITIALIZER;

int gresume_io_refused(gnutls_session_t s)
{
    if (!gtls_tracking())
        return 0;
    struct gtls_conn *c = gconn_get(s);
    if (c == NULL)
        return 0;
    if (c->recheck_io || c->capture_later) {
        int saved = errno;
        pthread_mutex_lock(&deferred_lock);
        if (c->recheck_io) {
            recheck_trust(s, c); /* poisoned is set before the flag is cleared */
            c->recheck_io = 0;
        }
        if (c->capture_later) {
            c->capture_later = 0;
            capture(s, c, 0);
        }
        pthread_mutex_unlock(&deferred_lock);
        errno = saved;
    }
    return c->poisoned;
}

static void take_ticket(gnutls_session_t s, struct gtls_conn *c)
{
    if (c == NULL || !c->want_ticket)
        return;
    if (!(gtls.gnutls_session_get_flags(s) & GNUTLS_SFLAGS_SESSION_TICKET))
        return;
    c->want_ticket = 0; /* GnuTLS keeps the last ticket only: one per session */
    capture(s, c, 0);
}

void gresume_after_send(gnutls_session_t s, int wrote)
{
    if (!gtls_tracking())
        return;
    struct gtls_conn *c = gconn_get(s);
    if (c == NULL || !c->nodelay.on)
        return;
    if (wrote) /* it went to this descriptor: the socket, still */
        nodelay_end_write(&c->nodelay, gtls.gnutls_transport_get_int(s));
    else
        nodelay_end(&c->nodelay);
}

void gresume_after_recv(gnutls_session_t s)
{
    if (!gtls_tracking())
        return;
    int saved = errno;
    take_ticket(s, gconn_get(s));
    errno = saved;
}

void gresume_deinit(gnutls_session_t s)
{
    if (!gtls_tracking())
        return;
    int saved = errno;
    struct gtls_conn *c = gconn_get(s);
    take_ticket(s, c);
    if (c != NULL && c->capture_later) { /* no record moved: judge it now */
        c->capture_later = 0;
        capture(s, c, 0);
    }
    if (c != NULL)
        nodelay_end(&c->nodelay);
    gconn_free(s);
    errno = saved;
}

void gresume_note_program_data(gnutls_session_t s, const void *data, size_t size)
{
    if (size == 4 && data != NULL && memcmp(data, "\0\0\0\0", 4) == 0)
        return;
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c != NULL && !c->started)
        c->program_data = 1;
}

void gresume_note_server_name(gnutls_session_t s, gnutls_server_name_type_t type,
                              const void *name, size_t len)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL || type != GNUTLS_NAME_DNS || c->started)
        return;
    int saved = errno;
    free(c->sni);
    c->sni = NULL;
    if (name == NULL)
        return;
    /* GnuTLS sends the given bytes: a name with a NUL inside is no name we can key. */
    if (memchr(name, '\0', len) != NULL || (c->sni = strndup(name, len)) == NULL)
        c->unreplayable = 1;
    errno = saved;
}

void gresume_note_priority(gnutls_session_t s, const char *text)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL || c->finished)
        return;
    int saved = errno;
    free(c->prio);
    c->prio = text != NULL ? strdup(text) : NULL;
    /* What a resumed handshake skips of them in both versions: the server's
     * signature algorithm (SECURITY.md, GnuTLS rule 4). */
    note_late(s, c, GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM);
    errno = saved;
}

void gresume_note_dh_bits(gnutls_session_t s, unsigned bits)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL || c->finished)
        return;
    c->dh_bits_set = 1;
    c->dh_bits = bits;
    note_late(s, c, GNUTLS_E_DH_PRIME_UNACCEPTABLE);
}

void gresume_note_srp_bits(gnutls_session_t s, unsigned bits)
{
    if (gtls_ready() && gtls.gnutls_check_version("3.8.0") == NULL)
        gresume_note_dh_bits(s, bits); /* 3.7: the same field */
}

int gresume_verify_cert_status(gnutls_session_t s, unsigned *status)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL || !c->vc_replayed)
        return 0;
    *status = c->vc_status;
    return 1;
}

void gresume_note_max_packet(gnutls_session_t s, size_t max)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL || c->finished)
        return;
    c->max_packet_set = 1;
    c->max_packet = max;
    note_late(s, c, GNUTLS_E_HANDSHAKE_TOO_LARGE);
}

void gresume_note_custom_transport(gnutls_session_t s)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c != NULL)
        c->custom_transport = 1;
}

int gresume_note_verify_function(gnutls_session_t s, gnutls_certificate_verify_function *fn)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL)
        return 0;
    c->vkind = fn != NULL ? GV_FUNCTION : GV_NONE;
    c->vfn = fn;
    return 1;
}

void gresume_note_verify_cert(gnutls_session_t s, const char *host, const gnutls_typed_vdata_st *data,
                              unsigned n, unsigned flags)
{
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c == NULL)
        return;
    c->prog_host = data == NULL ? host : NULL;
    c->prog_vdata = data;
    c->prog_velems = data != NULL ? n : 0;
    c->vflags |= flags; /* GnuTLS adds them up, at the call */
    c->vkind = GV_AUTO;
}

