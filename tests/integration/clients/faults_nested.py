#!/usr/bin/python3
"""faults_nested.py - TLS inside TLS, for the prog.nested-tls test.

faults_nested.py proxy PORT CERT KEY LOG READY
    A TLS-terminating HTTPS proxy on 127.0.0.1:PORT (TLS 1.3, session tickets
    on): it answers 'CONNECT 127.0.0.1:P HTTP/1.1' with 200 and then relays
    bytes both ways to 127.0.0.1:P.  Appends "outer reused=0|1 proto=P" to LOG
    per TLS connection it accepted (the proxy's own, server-side view), and
    writes "ready" to READY once it listens.  Run it WITHOUT the preload.

faults_nested.py client PROXY_PORT ORIGIN_PORT N CAFILE [--two-ctx]
    N times: TLS to the proxy (SSLSocket, verified as 'localhost' against
    CAFILE), CONNECT to the origin, then TLS to the origin INSIDE it
    (SSLContext.wrap_bio over MemoryBIOs, the same SSLContext unless
    --two-ctx, also verified as 'localhost'), GET /inner.  Python never resumes
    by itself.  Prints per connection
        conn I ok outer_reused=0|1 inner_reused=0|1 proto=P status=S
        conn I error TYPE: MSG
    and "summary connections=N ok=K failed=F outer_reused=A inner_reused=B".
    Exit 0 iff every connection succeeded.
"""
import select
import socket
import ssl
import sys
import threading


def relay(tls, up):
    """Copy bytes both ways between the TLS socket and the upstream socket,
    in ONE thread (an SSL object must not be read and written at once)."""
    open_in, open_out = True, True
    while open_in or open_out:
        want = []
        if open_in:
            want.append(tls)
        if open_out:
            want.append(up)
        if open_in and tls.pending():
            ready = [tls]
        else:
            ready, _, _ = select.select(want, [], [], 30)
            if not ready:
                return
        for s in ready:
            src, dst = (tls, up) if s is tls else (up, tls)
            try:
                data = src.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if data:
                dst.sendall(data)
                continue
            if s is tls:
                open_in = False
                try:
                    up.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            else:
                open_out = False
                return  # the origin is done: close the client side


def proxy_conn(ctx, raw, log):
    try:
        raw.settimeout(30)
        tls = ctx.wrap_socket(raw, server_side=True)
        with open(log, "a") as f:
            f.write("outer reused=%d proto=%s\n" % (1 if tls.session_reused else 0, tls.version()))
        head = b""
        while b"\r\n\r\n" not in head:
            c = tls.recv(1)
            if not c:
                return
            head += c
        target = head.split(b"\r\n", 1)[0].split()[1].decode()
        h, _, p = target.rpartition(":")
        up = socket.create_connection((h, int(p)), timeout=30)
        tls.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        relay(tls, up)
        up.close()
        tls.close()
    except (OSError, ssl.SSLError, ValueError, IndexError):
        pass


def proxy(port, cert, key, log, ready):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        c, _ = ls.accept()
        threading.Thread(target=proxy_conn, args=(ctx, c, log), daemon=True).start()


def inner_session(outer, ictx, origin_port):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ictx.wrap_bio(inc, out, server_hostname="localhost")

    def flush():
        data = out.read()
        if data:
            outer.sendall(data)

    def feed():
        data = outer.recv(65536)
        if data:
            inc.write(data)
        else:
            inc.write_eof()
        return bool(data)

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            if not feed():
                raise ConnectionError("EOF during the inner handshake")
    flush()
    obj.write(b"GET /inner HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    flush()
    body = b""
    while True:
        try:
            chunk = obj.read(65536)
            if not chunk:
                break
            body += chunk
        except ssl.SSLWantReadError:
            flush()
            if not feed():
                break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            break
    parts = body.split(b"\r\n", 1)[0].split()
    return obj.session_reused, obj.version(), parts[1].decode() if len(parts) > 1 else "none"


def client(pport, oport, n, cafile, two_ctx):
    def mk():
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(cafile=cafile)
        return c
    octx = mk()
    ictx = mk() if two_ctx else octx
    ok = failed = oreused = ireused = 0
    for i in range(n):
        try:
            with socket.create_connection(("127.0.0.1", pport), timeout=20) as raw:
                with octx.wrap_socket(raw, server_hostname="localhost") as outer:
                    outer.sendall(("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                                   % (oport, oport)).encode())
                    head = b""
                    while b"\r\n\r\n" not in head:
                        c = outer.recv(1)
                        if not c:
                            raise ConnectionError("proxy closed")
                        head += c
                    if b" 200 " not in head.split(b"\r\n", 1)[0]:
                        raise ConnectionError("proxy said " + head.split(b"\r\n", 1)[0].decode())
                    ir, iv, st = inner_session(outer, ictx, oport)
                    orr = 1 if outer.session_reused else 0
            if not st.startswith("2"):
                raise RuntimeError("HTTP status " + st)
            print("conn %d ok outer_reused=%d inner_reused=%d proto=%s status=%s"
                  % (i, orr, 1 if ir else 0, iv, st), flush=True)
            ok += 1
            oreused += orr
            ireused += 1 if ir else 0
        except Exception as e:
            failed += 1
            print("conn %d error %s: %s" % (i, type(e).__name__, e), flush=True)
    print("summary connections=%d ok=%d failed=%d outer_reused=%d inner_reused=%d"
          % (n, ok, failed, oreused, ireused), flush=True)
    return 0 if failed == 0 else 1


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "proxy":
        proxy(int(a[1]), a[2], a[3], a[4], a[5])
        return 0
    if len(a) in (5, 6) and a[0] == "client":
        return client(int(a[1]), int(a[2]), int(a[3]), a[4], "--two-ctx" in a[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
