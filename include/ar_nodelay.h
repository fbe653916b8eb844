/*
 * ar_nodelay.h - push the first flight after a resumed handshake.
 *
 * A resumed handshake ends with the client speaking (TLS 1.2: its Finished;
 * TLS 1.3 too), and a program without TCP_NODELAY (wget) then writes its
 * request while that last flight is still unacknowledged: Nagle holds the
 * request until the server's delayed ACK (40 ms on Linux), which costs more
 * than the round trip resumption saved. For that window only, we turn
 * TCP_NODELAY on (which also pushes anything queued) and back off after the
 * program's first write. Only when the program had it off, only on the
 * same socket (checked by inode, so a descriptor closed and reused is left
 * alone), and errno is kept.
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

/* nodelay_end - give the socket its setting back (if it is still the same socket). Idempotent. */
void nodelay_end(struct ar_nodelay *n);

/* nodelay_any_open - whether some window is open in this process: a lock-free fast path. */
int nodelay_any_open(void);

#endif
