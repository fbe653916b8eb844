/*
 * gtls_key.h - the session key of a GnuTLS client session (ar_key.h), in
 * GnuTLS terms.
 */
#ifndef GTLS_KEY_H
#define GTLS_KEY_H

#include "gtls_state.h"

/*
 * gtls_key_make - fill c->key and c->label from what the session holds
 * before its handshake: library, server name, peer address and port,
 * verification (how, expected host, flags), client certificate. Returns 0,
 * or -1 with *why set when no session may be offered or captured.
 */
int gtls_key_make(gnutls_session_t s, struct gtls_conn *c, const char **why);

#endif
