/*
 * ar_conntrack.h - the port of a connection that hides its socket.
 *
 * curl (its own BIO), python's SSLObject and asyncio (memory BIOs) and GnuTLS
 * programs with push/pull functions hand the TLS library no descriptor, so
 * the peer's port cannot be read off the connection. Left out, two ports of
 * one name share a key: alternating them never resumes, and one port's
 * refusal drops the other's sessions.
 *
 * Such programs connect() the TCP socket themselves, in the thread that then
 * starts the handshake. The libc connect() hook notes each connect in a small
 * per-thread ring; at the handshake's start, conntrack_guess looks at the
 * thread's sockets that are still connected to what they were connected to
 * and not yet claimed by another handshake, and answers a port only when
 * they all agree on one. A port from here only refines a key that has the
 * server's name anyway: a guess can separate connections that would have
 * shared a key, never join ones that would not.
 *
 * Async-signal-safe enough for connect(): the note writes thread-local memory
 * only, no system call, no lock, no allocation. A note pushed out of the ring
 * before a handshake looked at it leaves its descriptor number behind: while
 * that number is still a connected stream socket, nothing is guessed.
 */
#ifndef AR_CONNTRACK_H
#define AR_CONNTRACK_H

#include <sys/socket.h>

/* Connects remembered per thread with their peer; older ones by descriptor number only. */
#define AR_CONNTRACK_SLOTS 16

/*
 * conntrack_note - remember that this thread connected fd to sa (called by
 * the connect() hook when connect returned 0 or failed with EINPROGRESS).
 * Ignores anything but IPv4 and IPv6. Never changes errno.
 */
void conntrack_note(int fd, const struct sockaddr *sa, socklen_t len);

/*
 * conntrack_guess - the peer port of the TCP socket this thread's handshake
 * rides on: 1 with *port (and *fd, the socket) set and that socket claimed,
 * when every socket this thread connected that is still connected (or still
 * connecting) to where it was and not claimed has that one port; 0 when
 * there is none, they disagree, or a socket pushed out of the ring (more
 * than AR_CONNTRACK_SLOTS connects in flight) is still open. May change
 * errno: callers run inside their own errno save.
 */
int conntrack_guess(unsigned *port, int *fd);

/*
 * conntrack_claim - a handshake of this thread rides on fd (a connection with
 * a socket of its own): it is no candidate for another handshake.
 */
void conntrack_claim(int fd);

/*
 * conntrack_key_port - the seen port for a connection's key, as both TLS
 * libraries' glue want it: a connection with a socket of its own (fd) claims
 * it and gets 0; one without asks conntrack_guess once, remembering the
 * answer in *known and *port (kept per connection), and gets that port or 0.
 */
unsigned conntrack_key_port(int has_socket, int fd, int *known, unsigned *port);

/* conntrack_forget - clear this thread's ring (tests). */
void conntrack_forget(void);

#endif
