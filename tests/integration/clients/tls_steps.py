#!/usr/bin/python3
"""tls_steps.py HOST PORT STEP...

Runs a scripted sequence of TLS connections in ONE process, so that tests can
check what a per-process session table may and may not do across different
SSLContexts, trust stores, client certificates and server names.

A STEP is a comma-separated list of key=value:
  ctx=NAME      the SSLContext to use (created on its first use; the options
                below only count at creation)                 [default: main]
  insecure=1    CERT_NONE and no hostname check
  cafile=F      trust F only            (default: the system CAs)
  cert=F,key=F  client certificate
  tls=12|13     pin the protocol version
  sni=NAME      server_hostname for this connection ('sni=' = none) [HOST]
  repeat=K      make K connections with this step            [default: 1]
or the special step
  sync=OUT:IN   write "paused" to fifo OUT, then wait for a line on fifo IN
                (lets the harness restart the server between two connections)

Prints per connection:
  step S.R ok reused=0|1 proto=P status=CODE
  step S.R error TYPE verify_code=N reason=REASON: MESSAGE
and exits 0 once every step has run (the caller judges the outcomes).
"""
import os
import select
import socket
import ssl
import sys


def make_ctx(o):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if o.get("insecure") == "1":
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif "cafile" in o:
        ctx.load_verify_locations(cafile=o["cafile"])
    else:
        ctx.load_default_certs()
    if "cert" in o:
        ctx.load_cert_chain(o["cert"], o.get("key"))
    if o.get("tls") == "12":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif o.get("tls") == "13":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def one(ctx, host, port, sni):
    with socket.create_connection((host, port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (sni or host)).encode())
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
                if not chunk:
                    break
                data += chunk
            parts = data.split(b"\r\n", 1)[0].split()
            status = parts[1].decode() if len(parts) > 1 else "none"
            return "ok reused=%d proto=%s status=%s" % (
                1 if s.session_reused else 0, s.version(), status)


def sync(spec):
    out_path, in_path = spec.split(":", 1)
    fd_in = os.open(in_path, os.O_RDWR)  # does not block on Linux
    with open(out_path, "w") as out:
        out.write("paused\n")
    r, _, _ = select.select([fd_in], [], [], 60)
    if not r:
        raise SystemExit("sync: no answer on " + in_path)
    os.read(fd_in, 4096)
    os.close(fd_in)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    ctxs = {}
    for si, step in enumerate(sys.argv[3:], 1):
        o = {}
        for kv in step.split(","):
            k, _, v = kv.partition("=")
            o[k] = v
        if "sync" in o:
            sync(o["sync"])
            print("step %d synced" % si, flush=True)
            continue
        name = o.get("ctx", "main")
        if name not in ctxs:
            ctxs[name] = make_ctx(o)
        sni = o.get("sni", host) or None
        for r in range(int(o.get("repeat", "1"))):
            try:
                res = one(ctxs[name], host, port, sni)
            except ssl.SSLCertVerificationError as e:
                res = "error %s verify_code=%s reason=%s: %s" % (
                    type(e).__name__, e.verify_code,
                    (e.verify_message or "").replace(" ", "_"), e)
            except Exception as e:
                res = "error %s verify_code=none reason=none: %s" % (
                    type(e).__name__, e)
            print("step %d.%d %s" % (si, r + 1, res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
