/*
 * ar_nodelay.h - push the first flight after a resumed handshake.
 *
 * A resumed handshake ends with the client speaking (TLS 1.2: its Finished;
 * TLS 1.3 too), and a program without TCP_NODELAY (wget) then writes its
 * request while that last flight is still unacknowledged: Nagle holds the
 * request until the server's delayed ACK (40 ms on Linux), which costs more
 * than the round trip resumption saved. For that window only, we turn
 * TCP_NODELAY on (which also pushes anything queued: GnuTLS writes a TLS 1.3
 * client's change_cipher_spec on its own, so Nagle can hold its Finished, and
 * the server's ticket, which wget waits for, behind it) and back off after
 * the program's first write. Only when the program had it off, only on the
 * same socket (checked by inode, so a descriptor closed and reused is left
 * alone, unless the program just wrote to it), and errno is kept: four system
 * calls per resumed connection of a program with Nagle on (query, inode, on,
 * off), one for a program that set TCP_NODELAY itself (curl).
 */
#ifndef AR_NODELAY_H
#define AR_NODELAY_H

#include <sys/types.h>

struct ar_nodelay {
    int on;    /* we turned TCP_NODELAY on and owe the program its setting back */
    int fd;
    dev_t dev;
    ino_t ino;
};

/* nodelay_begin - if fd is a TCP socket with Nagle on, turn TCP_NODELAY on and remember it. */
void nodelay_begin(struct ar_nodelay *n, int fd);

/* nodelay_end - give the socket its setting back (if it is still the same
 * socket, by inode). Idempotent. */
void nodelay_end(struct ar_nodelay *n);

/*
 * nodelay_end_write - the same, right after the program's first write on the
 * connection, which writes to fd now: when that is the window's descriptor
 * it is the socket (the write just went to it), so no inode check (one system
 * call: the setsockopt). Idempotent.
 */
void nodelay_end_write(struct ar_nodelay *n, int fd);

/* nodelay_any_open - whether some window is open in this process: a lock-free fast path. */
int nodelay_any_open(void);

#endif
