#!/usr/bin/python3
"""faults_membio.py MODE HOST PORT N [--cafile F] [--server-hostname NAME] [--ports P,Q...]

N sequential HTTPS GET requests from ONE SSLContext where OpenSSL never sees
a socket: the TLS records go through ssl.MemoryBIO pairs.
  MODE membio   SSLContext.wrap_bio + a blocking socket driven by hand
  MODE asyncio  asyncio.open_connection(ssl=ctx) (asyncio's SSL protocol
                uses SSLObject/MemoryBIO too)
Python never resumes by itself (no session= is passed).

--ports P,Q...: connection I goes to the I-th port of the list, round robin
(PORT is then ignored), e.g. two servers of one name alternately.

Prints "conn I ok reused=0|1 proto=P status=S" or "conn I error TYPE: MSG"
per connection, then "summary connections=N ok=K failed=F reused=R".
Exit 0 iff every connection succeeded.
"""
import argparse
import asyncio
import socket
import ssl
import sys


def make_ctx(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.cafile:
        ctx.load_verify_locations(cafile=a.cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def request(name):
    return ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name).encode()


def status_of(data):
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[1].decode() if len(parts) > 1 else "none"


def membio_one(ctx, a, sni, port):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False, server_hostname=sni)
    with socket.create_connection((a.host, port), timeout=20) as sock:
        def flush():
            data = out.read()
            if data:
                sock.sendall(data)

        def feed():
            data = sock.recv(65536)
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
                    raise ConnectionError("EOF in handshake")
        flush()
        obj.write(request(sni or a.host))
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
        flush()
        return obj.session_reused, obj.version(), status_of(body)


async def asyncio_one(ctx, a, sni, port):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(a.host, port, ssl=ctx, server_hostname=sni), 20)
    obj = writer.get_extra_info("ssl_object")
    writer.write(request(sni or a.host))
    await writer.drain()
    body = b""
    try:
        body = await asyncio.wait_for(reader.read(), 20)
    except (ssl.SSLError, ConnectionError):
        pass
    reused, version = obj.session_reused, obj.version()
    writer.close()
    try:
        await writer.wait_closed()
    except (ssl.SSLError, ConnectionError):
        pass
    return reused, version, status_of(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["membio", "asyncio"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--cafile")
    ap.add_argument("--server-hostname")
    ap.add_argument("--ports")
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")] if a.ports else [a.port]
    ctx = make_ctx(a)
    sni = a.host if a.server_hostname is None else (a.server_hostname or None)
    ok = failed = reused = 0
    for i in range(a.n):
        port = ports[i % len(ports)]
        try:
            if a.mode == "membio":
                r, v, st = membio_one(ctx, a, sni, port)
            else:
                r, v, st = asyncio.run(asyncio_one(ctx, a, sni, port))
            if not st.startswith("2"):
                raise RuntimeError("HTTP status " + st)
            print("conn %d ok reused=%d proto=%s status=%s port=%d" % (i, 1 if r else 0, v, st, port), flush=True)
            ok += 1
            reused += 1 if r else 0
        except Exception as e:
            failed += 1
            print("conn %d error %s: %s" % (i, type(e).__name__, e), flush=True)
    print("summary connections=%d ok=%d failed=%d reused=%d" % (a.n, ok, failed, reused), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
