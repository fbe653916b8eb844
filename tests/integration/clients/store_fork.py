#!/usr/bin/python3
"""store_fork.py MODE PORT: a process that forks after 3 TLS connections
(to 127.0.0.1:PORT, no verification), for the store.fork-* tests.

  MODE _Fork   the child is made with glibc's _Fork() (no atfork handlers)
               and ends with sys.exit(0) (exit handlers run)
  MODE child   the child is made with os.fork(), makes one connection and
               ends with os._exit(0) (no exit handlers)

Prints "conn TAG reused=R" per connection, then "store before=N after=M
duplicates=D": ticket files in $AUTORESUME_CACHE before the fork and after
the parent's own exit handlers ran are not seen here, so "after" is read
after the child ended; D counts ticket files with identical contents.
"""
import ctypes
import hashlib
import os
import socket
import ssl
import sys

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
PORT = int(sys.argv[2])


def conn(tag):
    with socket.create_connection(("127.0.0.1", PORT), timeout=20) as s:
        t = ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while t.recv(65536):
            pass
        print("conn %s reused=%d" % (tag, 1 if t.session_reused else 0), flush=True)
        t.close()


def tickets():
    d = os.environ["AUTORESUME_CACHE"]
    out = []
    for k in os.listdir(d):
        p = os.path.join(d, k)
        if os.path.isdir(p):
            for f in os.listdir(p):
                if f.endswith(".t"):
                    with open(os.path.join(p, f), "rb") as fh:
                        out.append(hashlib.sha256(fh.read()).hexdigest())
    return out


def main():
    for i in range(3):
        conn("parent%d" % i)
    before = len(tickets())
    if sys.argv[1] == "_Fork":
        pid = ctypes.CDLL(None)._Fork()
        if pid == 0:
            sys.exit(0)
    else:
        pid = os.fork()
        if pid == 0:
            conn("child")
            os._exit(0)
    os.waitpid(pid, 0)
    t = tickets()
    print("store before=%d after=%d duplicates=%d" % (before, len(t), len(t) - len(set(t))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
