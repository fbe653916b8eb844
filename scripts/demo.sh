#!/usr/bin/env bash
# Demo: 5 HTTPS requests from python3 to a local nginx, first without the
# library, then through scripts/autoresume -v, and what nginx saw of them;
# then 5 separate wget processes (GnuTLS) the same way, which resume across
# processes through a private session store.
# `make demo` builds the library first. AUTORESUME_WRAPPER=PATH runs that
# wrapper instead of scripts/autoresume (the installed /usr/bin/autoresume:
# scripts/package-check.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
wrapper=${AUTORESUME_WRAPPER:-$root/scripts/autoresume}
python=/usr/bin/python3
nginx=$(command -v nginx || echo /usr/sbin/nginx)   # /usr/sbin may not be in PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autoresume-demo.XXXXXX")
pidfile=$tmp/nginx.pid

stop_nginx() {
    local pid i
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do           # graceful stop, at most 10 s
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "demo: nginx ($pid) did not stop within 10 s; sending TERM" >&2
    kill -TERM "$pid" 2>/dev/null || true
}
cleanup() { stop_nginx; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A self-signed EC P-256 certificate for localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

# Temp paths compiled into Debian's nginx (/var/lib/nginx) need root; keep them here.
temp_paths=""
for module in client_body proxy fastcgi uwsgi scgi; do
    if ! "$nginx" -V 2>&1 | grep -q -- "--without-http_${module}_module"; then
        temp_paths+="        ${module}_temp_path $tmp/${module}_temp;"$'\n'
    fi
done

write_conf() {   # write_conf PORT
    cat > "$tmp/nginx.conf" <<CONF
daemon on;
pid $pidfile;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
$temp_paths
    log_format demo '\$request_uri \$connection \$ssl_protocol \$ssl_session_reused';
    access_log $tmp/access.log demo;
    server {
        listen 127.0.0.1:$1 ssl;
        server_name localhost;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "hello\n"; }
    }
}
CONF
}

# Start nginx on a free port; with "daemon on" the socket is bound once it returns.
port=""
for ((try = 0; try < 10; try++)); do
    candidate=$((20000 + ($$ + try * 997) % 20000))
    write_conf "$candidate"
    if "$nginx" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" 2>"$tmp/start.err"; then
        port=$candidate
        break
    fi
    grep -q "Address already in use" "$tmp/start.err" || break
done
if [[ -z $port ]]; then
    echo "demo: nginx failed to start:" >&2
    cat "$tmp/start.err" >&2
    exit 1
fi
for ((i = 0; i < 50; i++)); do [[ -s $pidfile ]] && break; sleep 0.1; done

# Five requests, each on a new connection; the path tags the run.
client='
import http.client, ssl, sys
port, cafile, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
for i in range(5):
    conn = http.client.HTTPSConnection("localhost", port, context=ctx)
    conn.request("GET", "/" + tag)
    conn.getresponse().read()
    conn.close()
'
run() {   # run TAG COMMAND...: the client's stderr goes to $tmp/TAG.err
    local tag=$1
    shift
    if ! "$@" "$port" "$tmp/cert.pem" "$tag" 2>"$tmp/$tag.err"; then
        echo "demo: the $tag run failed:" >&2
        cat "$tmp/$tag.err" >&2
        exit 1
    fi
}
echo "== python3, 5 HTTPS requests to localhost:$port without autoresume"
run plain "$python" -c "$client"
echo "== the same through: scripts/autoresume -v python3 ..."
run resumed "$wrapper" -v "$python" -c "$client"

tags="plain resumed"
wget=$(command -v wget || true)
if [[ -n $wget ]]; then
    echo "== wget (GnuTLS), 5 separate processes, without autoresume"
    for ((i = 0; i < 5; i++)); do
        "$wget" -4 -q -O /dev/null --ca-certificate="$tmp/cert.pem" "https://localhost:$port/wget-plain" ||
            { echo "demo: wget failed" >&2; exit 1; }
    done
    echo "== the same through: scripts/autoresume -v wget ..."
    mkdir -m 700 "$tmp/store"
    for ((i = 0; i < 5; i++)); do
        AUTORESUME_CACHE=$tmp/store "$wrapper" -v "$wget" -4 -q -O /dev/null \
            --ca-certificate="$tmp/cert.pem" "https://localhost:$port/wget-resumed" 2>>"$tmp/wget-resumed.err" ||
            { echo "demo: wget through autoresume failed:" >&2; cat "$tmp/wget-resumed.err" >&2; exit 1; }
    done
    tags+=" wget-plain wget-resumed"
else
    echo "(no wget installed: the GnuTLS part is skipped)"
fi

stop_nginx   # graceful: the access log is complete afterwards

for tag in $tags; do
    echo
    echo "-- $tag run"
    awk -v uri="/$tag" '$1 == uri { if (!($2 in seen)) { seen[$2]; n++ } if ($4 == "r") r++ }
        END { printf "server saw: %d connections, %d resumed\n", n, r }' "$tmp/access.log"
    if [[ -s $tmp/$tag.err ]]; then
        echo "client log:"
        sed 's/^/  /' "$tmp/$tag.err"
    fi
done
