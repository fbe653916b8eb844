#!/usr/bin/python3
"""https_get.py HOST PORT N [options]

N sequential HTTPS GET requests, each on a new TCP connection and a new
SSLSocket, all from the same SSLContext.  Python's ssl module never resumes a
session by itself (only when session= is passed, which this script does not
do), so any resumption seen by the server comes from outside the program.

Prints one line per connection:
    conn I ok reused=0|1 proto=TLSv1.3 status=200 [server=New|Reused]
    conn I error TYPE: MESSAGE
and a closing line
    summary connections=N ok=K failed=F reused=R
Exit status 0 iff every connection succeeded.

Options:
  --cafile F             verify against F only (default: system CAs)
  --insecure             CERT_NONE, no hostname check
  --server-hostname NAME SNI and verification name (default HOST; '' = none)
  --cert F --key F       client certificate
  --tls12 / --tls13      pin the protocol version
  --path P               request path (default /)
  --ciphers S            SSLContext.set_ciphers(S) (e.g. 'DEFAULT:@SECLEVEL=0')
  --curve NAME           SSLContext.set_ecdh_curve(NAME): the only group offered
  --last SPEC            the last connection uses a context of its own, made the
                         same way but with SPEC: 'default' or comma-separated
                         ciphers=S / curve=NAME (a stricter policy in-process)
  --last-same            apply --last SPEC to the same context instead
  --body                 print the response body, each line prefixed 'body: '
"""
import argparse
import socket
import ssl
import sys


def make_ctx(a, ciphers, curve):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif a.cafile:
        ctx.load_verify_locations(cafile=a.cafile)
    else:
        ctx.load_default_certs()
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if ciphers:
        ctx.set_ciphers(ciphers)
    if curve:
        ctx.set_ecdh_curve(curve)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--cafile")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--server-hostname")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--tls12", action="store_true")
    ap.add_argument("--tls13", action="store_true")
    ap.add_argument("--path", default="/")
    ap.add_argument("--body", action="store_true")
    ap.add_argument("--ciphers")
    ap.add_argument("--curve")
    ap.add_argument("--last")
    ap.add_argument("--last-same", action="store_true")
    a = ap.parse_args()
    ctx = make_ctx(a, a.ciphers, a.curve)
    last_ctx = ctx
    if a.last is not None:
        spec = dict(kv.split("=", 1) for kv in a.last.split(",") if "=" in kv)
        if a.last_same:
            last_ctx = None
        else:
            last_ctx = make_ctx(a, spec.get("ciphers"), spec.get("curve"))
    sni = a.host if a.server_hostname is None else (a.server_hostname or None)

    ok = failed = reused = 0
    for i in range(a.n):
        if i == a.n - 1 and last_ctx is None:  # --last-same
            ctx.set_ciphers(spec.get("ciphers", "DEFAULT"))
            if "curve" in spec:
                ctx.set_ecdh_curve(spec["curve"])
        elif i == a.n - 1:
            ctx = last_ctx
        try:
            with socket.create_connection((a.host, a.port), timeout=20) as raw:
                with ctx.wrap_socket(raw, server_hostname=sni) as s:
                    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                           % (a.path, sni or a.host))
                    s.sendall(req.encode())
                    data = b""
                    while True:
                        try:
                            chunk = s.recv(65536)
                        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                            break
                        if not chunk:
                            break
                        data += chunk
                    text = data.decode("latin-1")
                    first = text.split("\r\n", 1)[0]
                    parts = first.split()
                    status = parts[1] if len(parts) > 1 else "none"
                    extra = ""
                    # openssl s_server -www says "New, TLSv1.3, ..." or
                    # "Reused, TLSv1.3, ..." in its page: the server's view.
                    for line in text.splitlines():
                        if line.startswith("New, ") or line.startswith("Reused, "):
                            extra = " server=" + line.split(",", 1)[0]
                            break
                    r = 1 if s.session_reused else 0
                    print("conn %d ok reused=%d proto=%s status=%s%s"
                          % (i, r, s.version(), status, extra), flush=True)
                    if a.body:
                        for line in text.splitlines():
                            print("body: " + line)
                    if not status.startswith("2"):
                        raise RuntimeError("HTTP status " + status)
                    ok += 1
                    reused += r
        except Exception as e:  # report and go on with the next connection
            failed += 1
            print("conn %d error %s: %s" % (i, type(e).__name__, e), flush=True)
    print("summary connections=%d ok=%d failed=%d reused=%d"
          % (a.n, ok, failed, reused), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
