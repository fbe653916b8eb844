/*
 * gtls_state.h - what we remember about GnuTLS sessions and certificate
 * credentials. GnuTLS has no ex_data: both live in pointer-keyed tables,
 * created when the object is created (gnutls_init) or configured, removed
 * when it is freed.
 */
#ifndef GTLS_STATE_H
#define GTLS_STATE_H

#include "ar_nodelay.h"
#include "ar_state.h"
#include "gtls_sym.h"

#include <stdint.h>

/* How the program asked GnuTLS to verify the server within the handshake. */
enum gtls_verify_kind {
    GV_NONE = 0, /* not on the session (the credentials' function may still apply) */
    GV_FUNCTION, /* gnutls_session_set_verify_function */
    GV_AUTO,     /* gnutls_session_set_verify_cert / _cert2 */
};

/*
 * Per client session. A session is driven by one thread at a time, except
 * that GnuTLS allows one thread to send while another receives: the send
 * path only reads `poisoned`, which is set before any record moves, and
 * the deferred checks (`recheck_io`, `capture_later`) are claimed
 * atomically by whichever I/O call comes first.
 */
struct gtls_conn {
    int started;           /* the first handshake call was seen */
    int finished;          /* its outcome was recorded */
    int offered;           /* we called gnutls_session_set_data */
    int program_data;      /* the program set its own session data */
    int custom_transport;  /* push/pull functions: the transport is no socket */
    int seen_known;        /* then seen_port is the port of the socket this thread */
    unsigned seen_port;    /* connected (ar_conntrack.h), claimed by this session */
    unsigned init_flags;   /* gnutls_init's flags */
    int compat;            /* gnutls_session_enable_compatibility_mode (no EMS) */
    int want_ticket;       /* TLS 1.3: capture the next ticket that arrives */
    _Atomic int poisoned;  /* resumed, then its trust check failed: no I/O */
    _Atomic int recheck_io; /* offered before the program loaded any trust: check
                             * the chain at the first record I/O (gresume_io_refused) */
    _Atomic int capture_later; /* TLS 1.2 session won before the program loaded
                                * any trust: judge and keep it at the first I/O */
    int dropped;           /* the key's stale sessions were already dropped */
    int lifetime_known;    /* the last NewSessionTicket's lifetime (seconds) was seen */
    unsigned long lifetime;
    gnutls_handshake_hook_func phook; /* the program's handshake hook, and its filter */
    unsigned phtype;
    int phwhen;
    struct ar_nodelay nodelay; /* TCP_NODELAY window after a resumed handshake */
    int verify_in_hs;      /* the handshake verifies (session or credentials setting) */
    int verify_ran;        /* the program's verify function ran in this handshake */
    int picks_cert;        /* its credentials choose a client certificate per handshake */
    int unreplayable;      /* its verification could not be recorded: never offer */
    int dh_bits_set;       /* gnutls_dh_set_prime_bits was called: */
    unsigned dh_bits;      /* the least DH prime GnuTLS accepts (0: the priorities' level) */
    int vc_replayed;       /* our replay of gnutls_session_set_verify_cert's check */
    unsigned vc_status;    /* ran in this handshake, with this status */
    int max_packet_set;    /* gnutls_handshake_set_max_packet_length was called: */
    size_t max_packet;     /* the most handshake data GnuTLS accepts (0: no limit) */
    int late_change;       /* a setting of the key or a hook changed after the first
                            * handshake call (after a GNUTLS_E_AGAIN): nothing kept */
    int late_err;          /* offered, and a late change makes the offer one its
                            * settings now would not make: the error to fail with */
    int late_kind_err;     /* the error of the kind of setting that changed last */
    char *sni;             /* the DNS name given to gnutls_server_name_set (GnuTLS
                            * cannot tell a client its own), or NULL */
    char *prio;            /* the priority string in effect ("@default..." for the
                            * library's default), or NULL when not known */
    char *key;             /* session key; NULL when none could be made */
    char label[128];       /* "host:port" for log lines */
    const char *why_not;   /* static reason no session was offered */
    int64_t born;          /* full-handshake time of the offered session */
    long status;           /* its verification status at capture */
    struct ar_blob chain;  /* its peer chain */
    enum gtls_verify_kind vkind;
    gnutls_certificate_verify_function *vfn; /* GV_FUNCTION */
    gnutls_typed_vdata_st *vdata;            /* GV_AUTO: deep copy, made as the handshake starts */
    unsigned velems, vflags;
    /* GV_AUTO as the program gave it: GnuTLS keeps these pointers and reads
     * them in the handshake, so the copy is made then (gresume_before_handshake). */
    const char *prog_host;                     /* gnutls_session_set_verify_cert */
    const gnutls_typed_vdata_st *prog_vdata;   /* gnutls_session_set_verify_cert2 */
    unsigned prog_velems;
};

/*
 * gtls_ready - 1 once resumption is enabled (state_ready) and GnuTLS is
 * resolved (GTLS_READY); 0 means pass through. Thread-safe, cheap after the
 * first call.
 */
int gtls_ready(void);

/*
 * gconn_attach - new state for a client session just created; NULL on ENOMEM.
 * gconn_get - its state, or NULL (not a client session we follow).
 * gconn_free - forget it (gnutls_deinit). All thread-safe.
 */
struct gtls_conn *gconn_attach(gnutls_session_t s);
struct gtls_conn *gconn_get(gnutls_session_t s);
void gconn_free(gnutls_session_t s);

/* gconn_set_vdata - record gnutls_session_set_verify_cert2's data (copied). -1 on ENOMEM. */
int gconn_set_vdata(struct gtls_conn *c, const gnutls_typed_vdata_st *data, unsigned n,
                    unsigned flags);

/*
 * What the program set on certificate credentials: its verify function, and
 * whether it picks its client certificate per handshake (retrieve function).
 * gcreds_note_* record (creating the entry; gcreds_note_verify returns -1
 * when it could not), gcreds_get reads (0 and zeroes when unknown),
 * gcreds_forget drops (credentials freed). Thread-safe.
 */
int gcreds_note_verify(gnutls_certificate_credentials_t cred,
                       gnutls_certificate_verify_function *fn);
void gcreds_note_picks_cert(gnutls_certificate_credentials_t cred);
int gcreds_get(gnutls_certificate_credentials_t cred, gnutls_certificate_verify_function **fn,
               int *picks_cert);

/*
 * gnutls_certificate_set_verify_limits, which cannot be read back:
 * gcreds_note_limits records them (-1 on ENOMEM); gcreds_get_limits gives
 * them and returns 1, or returns 0 when the program never set them.
 * Thread-safe.
 */
int gcreds_note_limits(gnutls_certificate_credentials_t cred, unsigned max_bits,
                       unsigned max_depth);
int gcreds_get_limits(gnutls_certificate_credentials_t cred, unsigned *max_bits,
                      unsigned *max_depth);
void gcreds_forget(gnutls_certificate_credentials_t cred);

/*
 * Priority caches (gnutls_priority_init*) and the text they were made from,
 * so that gnutls_priority_set can tell a session's priorities. gprio_note
 * records (copying; -1 on ENOMEM), gprio_dup returns a malloc'd copy or
 * NULL, gprio_forget drops (gnutls_priority_deinit). Thread-safe.
 */
int gprio_note(gnutls_priority_t cache, const char *text);
char *gprio_dup(gnutls_priority_t cache);
void gprio_forget(gnutls_priority_t cache);

/*
 * gtls_give_up - something we must know could not be recorded (out of
 * memory): from now on no GnuTLS session is followed or offered anything.
 * Logs why once. Thread-safe.
 */
void gtls_give_up(const char *why);

/* gtls_tracking - whether any session is followed: a lock-free fast path for record I/O. */
int gtls_tracking(void);

#endif
