#!/usr/bin/python3
"""report.py - the number crunching of bench/run.sh.

  report.py cg CALLGRIND_OUT LIB
      prints "metric value" lines for one callgrind profile: total
      instructions, the library's exclusive instructions (every function of
      the object named like LIB), and the inclusive instructions of the
      library's entry points into its own work (resume_before, resume_after,
      on_new_session, resume_ssl_clear, ossl_load) and of the main callees of
      resume_before.

  report.py report RAW.tsv OUT.md OUT.png GNUPLOT
      reads the raw samples run.sh wrote, prints the result tables (Markdown)
      on stdout, writes them to OUT.md, and draws OUT.png with GNUPLOT (if
      GNUPLOT is not empty).
"""
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

# ----------------------------------------------------------------- callgrind --

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:([*>])\s+)?(\S+?)(?:\s+\((\d+)x\))?"
                  r"(?:\s+\[(.+)\])?\s*$")
TOTAL = re.compile(r"^\s*([\d,]+)\s+\(.*\)\s+PROGRAM TOTALS")
ENTRY_POINTS = ["resume_before", "resume_after", "on_new_session", "resume_ssl_clear",
                "ossl_load", "capture_guarded", "trust_recheck", "key_from_ssl"]
BEFORE_CALLEES = ["d2i_SSL_SESSION", "trust_recheck", "key_from_ssl", "cache_take",
                  "store_take", "state_take"]


# Where a connection's CPU goes, by shared object (1d, and section 3's
# instructions): the names perf and callgrind give them.
OBJECTS = ("lib", "crypto", "ssl", "libc", "kernel", "other")
OBJECT_WHAT = {"lib": "libautoresume.so (the library's own code)", "crypto": "libcrypto",
               "ssl": "libssl", "libc": "libc (malloc, free, locks, string functions)",
               "kernel": "the kernel (system calls, TCP on loopback)",
               "other": "the rest (the program, the loader)"}
OBJ_NAMES = {"libcrypto.so.3": "crypto", "libssl.so.3": "ssl", "libc.so.6": "libc",
             "[kernel.kallsyms]": "kernel"}


def annotate(path, *opts):
    # From "/": with another working directory callgrind_annotate shortens the
    # file names under it and then leaves out some "[object]" tags.
    out = subprocess.run(["callgrind_annotate", "--threshold=100", *opts, os.path.abspath(path)],
                         check=True, capture_output=True, text=True, cwd="/").stdout
    return out.splitlines()


def cg_metrics(path, lib):
    libname = os.path.basename(lib)
    m = collections.OrderedDict()
    lib_excl = 0
    objs = collections.Counter()
    lines = annotate(path, "--inclusive=no")
    # A function's lines from an inline header (ar_fmt.h) or a second source
    # file come without the "[object]" tag: they are the object's whose
    # function of that name has one.
    fn_obj = {}
    for line in lines:
        x = LINE.match(line)
        if x and x.group(5):
            fn_obj.setdefault(x.group(3).rsplit(":", 1)[-1], os.path.basename(x.group(5)))
    for line in lines:
        t = TOTAL.match(line)
        if t:
            m["total"] = int(t.group(1).replace(",", ""))
            continue
        x = LINE.match(line)
        if not x:
            continue
        cost = int(x.group(1).replace(",", ""))
        obj = os.path.basename(x.group(5)) if x.group(5) else fn_obj.get(x.group(3).rsplit(":", 1)[-1], "")
        if obj == libname:
            objs["lib"] += cost
            if x.group(5):
                lib_excl += cost
        else:
            objs[OBJ_NAMES.get(obj, "other")] += cost
    m["lib_excl"] = lib_excl
    for name in OBJECTS:
        m["obj_" + name] = objs.get(name, 0)
    incl = {}
    before_callees = collections.Counter()
    current = None
    for line in annotate(path, "--inclusive=yes", "--tree=calling"):
        x = LINE.match(line)
        if not x:
            continue
        cost = int(x.group(1).replace(",", ""))
        marker, fn, obj = x.group(2), x.group(3).rsplit(":", 1)[-1], x.group(5) or ""
        if marker == "*" and fn == "_dl_start" and "ld-linux" in os.path.basename(obj):
            m["ldso_start"] = cost  # the dynamic loader's start-up: mapping, relocation
        if marker == "*":
            current = fn if os.path.basename(obj) == libname else None
            if current in ENTRY_POINTS:
                incl[current] = cost
        elif marker == ">" and current == "resume_before" and fn in BEFORE_CALLEES:
            before_callees[fn] += cost
    for fn in ENTRY_POINTS:
        m["incl_" + fn] = incl.get(fn, 0)
    for fn in BEFORE_CALLEES:
        m["rb_" + fn] = before_callees.get(fn, 0)
    return m


# -------------------------------------------------------------------- report --

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=2):
    if x is None or x != x:
        return "n/a"
    return f"{x:,.{digits}f}"


def fint(x):
    if x is None or x != x:
        return "n/a"
    return f"{x:,.0f}"


def verdict(value, target, higher_is_better=True):
    if value != value:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**MISSED**"


class Raw:
    def __init__(self, path):
        self.rows = collections.defaultdict(list)
        self.info = collections.OrderedDict()
        self.notes = []
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                kind, rest = parts[0], parts[1:]
                if kind == "info":
                    self.info[rest[0]] = rest[1] if len(rest) > 1 else ""
                elif kind == "note":
                    self.notes.append(rest[0])
                else:
                    self.rows[kind].append(rest)


def section_stime(raw, out, plot):
    """s_time: conn/s per variant (from the real-seconds figure), paired ratios."""
    data = collections.defaultdict(dict)   # (cert, proto, variant) -> {round: row}
    for cert, proto, v, rnd, conns, real, wall, user, nr, nn in raw.rows["stime"]:
        real = float(real)
        data[(cert, proto, v)][int(rnd)] = dict(
            rate=int(conns) / real if real > 0 else float("nan"),
            ext=int(conns) / float(wall), conns=int(conns), real=real,
            resumed=int(nr), new=int(nn))
    names = {"plain": "plain (-new)", "off": "preload, store off", "store": "preload, store on",
             "reuse": "-reuse (program resumes)"}
    groups = sorted({(c, p) for c, p, _ in data}, key=lambda k: (k[0] != "ec", k[1]))
    out.append("## 1. `openssl s_time -new -www /`: connections per second\n")
    out.append("nginx (1 worker, `ssl_session_tickets on`, `ssl_session_cache none`), "
               f"`-time {raw.info.get('stime_t', '?')}`; preload = "
               "`LD_PRELOAD=` (the copy of build/libautoresume.so) with `AUTORESUME_CACHE=off` or a fresh "
               "store directory per run.\n")
    out.append("Rate = N / S from s_time's line \"N connections in S real seconds\" "
               "(wall clock; each run starts just after a whole second so S is the true "
               "elapsed time; the per-user-CPU-second figure is not used). Ratios: median of "
               "the per-round ratios (variants alternate within each round), min..max over "
               "rounds; last column: the same ratio from rates timed outside s_time "
               "(process start to exit).\n")
    out.append("| cert | TLS | variant | rounds | conn/s median | min | max | resumed |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for cert, proto in groups:
        for v in ("plain", "off", "store", "reuse"):
            rows = data.get((cert, proto, v), {})
            if not rows:
                continue
            rates = [r["rate"] for r in rows.values()]
            res = sum(r["resumed"] for r in rows.values())
            tot = sum(r["resumed"] + r["new"] for r in rows.values())
            resumed = f"{100.0 * res / tot:.1f}%" if tot and v != "plain" else (
                "0%" if v == "plain" and res == 0 else f"{res}/{tot}")
            out.append(f"| {cert.upper()} | 1.{proto[1]} | {names[v]} | {len(rates)} | "
                       f"{fmt(med(rates), 0)} | {fmt(min(rates), 0)} | {fmt(max(rates), 0)} | "
                       f"{resumed} |")
            plot["stime"].append((f"{cert.upper()} 1.{proto[1]}", v, med(rates), min(rates),
                                  max(rates)))
    out.append("")
    out.append("| cert | TLS | ratio | median | min | max | target | | ext. wall median |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for cert, proto in groups:
        for a, b, target in (("off", "plain", 2.5 if proto == "12" else 1.8),
                             ("store", "plain", 2.5 if proto == "12" else 1.8),
                             ("off", "reuse", None), ("store", "reuse", None)):
            ra, rb = data.get((cert, proto, a), {}), data.get((cert, proto, b), {})
            common = sorted(set(ra) & set(rb))
            ratios = [ra[i]["rate"] / rb[i]["rate"] for i in common if rb[i]["rate"] > 0]
            ext = [ra[i]["ext"] / rb[i]["ext"] for i in common if rb[i]["ext"] > 0]
            if not ratios:
                continue
            m = med(ratios)
            t = f">= {target}" if target is not None else \
                "(reference: s_time -reuse keeps one SSL for every connection; see 1c)"
            v = verdict(m, target) if target is not None else ""
            out.append(f"| {cert.upper()} | 1.{proto[1]} | {names[a]} / {names[b]} | "
                       f"{fmt(m)}x | {fmt(min(ratios))} | {fmt(max(ratios))} | "
                       f"{t} | {v} | {fmt(med(ext))}x |")
    out.append("")


# Section 3's runs: N = 2 and N = 21 connections (and N = 1 verifying).
CG_A, CG_B = 2, 21


def cg_rows(raw):
    """(config, n) -> {metric: value} from the raw "cg" rows."""
    cg = collections.defaultdict(dict)
    for cfg, n, metric, value in raw.rows["cg"]:
        cg[(cfg, int(n))][metric] = int(value)
    return cg


def cg_per(cg, cfg, metric, by="reused"):
    """Steady-state cost per resumed connection (or per connection, by="n")
    of cfg: (run N=21 - run N=2) / (its resumed connections - theirs)."""
    a, b = cg.get((cfg, CG_A)), cg.get((cfg, CG_B))
    if not a or not b:
        return float("nan")
    d = (b["reused"] - a["reused"]) if by == "reused" else CG_B - CG_A
    return (b.get(metric, 0) - a.get(metric, 0)) / d if d > 0 else float("nan")


def cg_first_resumption(cg):
    """The first resumed connection's one-time extra work, verifying (its
    chain verified in full; later ones find the memo's verdict): run N=2 -
    run N=1 - one steady-state connection. NaN without those runs."""
    ver = cg_per(cg, "verify", "total")
    if ("verify", 1) not in cg or ("verify", CG_A) not in cg or ver != ver:
        return float("nan")
    return (cg[("verify", CG_A)]["total"] - cg[("verify", 1)]["total"]) - ver


def cg_hooks(cg, cfg):
    return sum(cg_per(cg, cfg, "incl_" + f) for f in
               ("resume_before", "resume_after", "on_new_session", "resume_ssl_clear"))


def section_inproc(raw, out, plot):
    """1c: a verifying in-process client, CPU per connection, client and server."""
    rows = collections.defaultdict(dict)   # (proto, variant) -> {round: row}
    for proto, v, rnd, n, cpu, srv, reused, status, *more in raw.rows["inproc"]:
        if status != "0":
            continue
        n = int(n)
        cli, srv = float(cpu) / n, int(srv) / n
        rows[(proto, v)][int(rnd)] = dict(cli=cli, srv=srv, both=cli + srv / 1e9,
                                          wall=float(more[0]) / n if more else float("nan"),
                                          reused=int(reused), n=n)
    if not rows:
        return
    names = {"full": "full handshakes (no preload)", "own": "own session (--own-session, no preload)",
             "dis": "own session under the preload switched off (AUTORESUME_DISABLE=1)",
             "ownnd": "own session, TCP_NODELAY set by the program (--nodelay)",
             "off": "preload, store off", "store": "preload, store on"}
    n = next(iter(next(iter(rows.values())).values()))["n"]
    walls = {}
    out.append("## 1c. A verifying in-process client: CPU per connection, client and server\n")
    out.append(f"`arclient -q --verify --cafile CA --expect-host localhost --sni localhost -n {n}` "
               "(SSL_VERIFY_PEER, SSL_set1_host, a new SSL per connection) against the RSA-2048 "
               "nginx servers. The limit for transparent resumption is the same program resuming "
               "its own session (`--own-session`). Client CPU = user + system of the process "
               "(wait4), start-up included; server CPU = the nginx worker's time on a CPU "
               "(/proc/PID/schedstat) over the run; wall = the client process's start to exit. "
               "Variants alternate within each round; ratios are medians of per-round ratios.\n")
    out.append("| TLS | variant | rounds | client us / conn | server us / conn | wall ms / conn "
               "| resumed |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for proto in ("12", "13"):
        for v in ("full", "own", "dis", "ownnd", "off", "store"):
            r = rows.get((proto, v))
            if not r:
                continue
            cli = [x["cli"] * 1e6 for x in r.values()]
            srv = [x["srv"] / 1e3 for x in r.values()]
            wall = [x["wall"] * 1e3 for x in r.values() if x["wall"] == x["wall"]]
            res = sum(x["reused"] for x in r.values())
            tot = sum(x["n"] for x in r.values())
            out.append(f"| 1.{proto[1]} | {names[v]} | {len(r)} | {fmt(med(cli), 0)} | "
                       f"{fmt(med(srv), 0)} | {fmt(med(wall), 2)} | {res}/{tot} |")
            if wall:
                walls[(proto, v)] = med(wall)
    out.append("")
    out.append("| TLS | ratio | of | median | min | max | target | |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    medians = {}
    for proto in ("12", "13"):
        for a, b, what, target in (("off", "own", "cli", 1.03), ("store", "own", "cli", 1.10),
                                   ("dis", "own", "cli", None), ("off", "ownnd", "cli", None),
                                   ("full", "own", "cli", None), ("off", "own", "srv", 1.05),
                                   ("store", "own", "srv", 1.05), ("off", "full", "srv", None),
                                   ("own", "full", "srv", None), ("off", "own", "both", None),
                                   ("store", "own", "both", None)):
            ra, rb = rows.get((proto, a), {}), rows.get((proto, b), {})
            common = sorted(set(ra) & set(rb))
            ratios = [ra[i][what] / rb[i][what] for i in common if rb[i][what] > 0]
            if not ratios:
                continue
            m = med(ratios)
            medians[(proto, a, b, what)] = m
            medians[(proto, a, b, what, "range")] = (min(ratios), max(ratios))
            who = {"cli": "client CPU", "srv": "server CPU", "both": "client + server CPU"}[what]
            t = f"<= {target}" if target is not None else "(report)"
            v = verdict(m, target, False) if target is not None else ""
            out.append(f"| 1.{proto[1]} | {names[a]} / {names[b]} | {who} | {fmt(m)}x | "
                       f"{fmt(min(ratios))} | {fmt(max(ratios))} | {t} | {v} |")
    out.append("")
    own12, off12 = walls.get(("12", "own")), walls.get(("12", "off"))
    if own12 and off12 and own12 > 5 * off12:
        out.append(f"On TLS 1.2 the program resuming its own session waits {fmt(own12, 1)} ms per "
                   f"connection against the preload's {fmt(off12, 2)} ms: arclient does not set "
                   "TCP_NODELAY, a resumed TLS 1.2 handshake ends with the client's Finished, "
                   "and Nagle holds the request behind it until the server's delayed ACK. The "
                   "preload's TCP_NODELAY window (ar_nodelay.h) sends it at once; the waiting "
                   "also costs both sides CPU (timers, wake-ups), hence the ratios below 1. On "
                   "TLS 1.3 the server answers the client's Finished at once with a ticket, "
                   "which acknowledges it, so nothing waits "
                   f"({fmt(walls.get(('13', 'own')), 2)} ms against "
                   f"{fmt(walls.get(('13', 'off')), 2)} ms). The same program with TCP_NODELAY "
                   "set itself (`--nodelay`, as curl does) does not wait either "
                   f"({fmt(walls.get(('12', 'ownnd')), 2)} ms on TLS 1.2): the preload against "
                   "it is the row above that a program without the stall would see.\n")
    inproc_miss(raw, medians, n, out)


# 1d: the library's functions that the program's calls (or OpenSSL, for the
# callbacks) enter; none runs inside another (conn_free_cb calls nodelay_end
# too, but then the window is closed and it returns at once), so their
# shares add up.
PERF_TOP = (("resume_before", "before the handshake: key, session, trust re-check, offer"),
            ("resume_after", "after it: outcome, the TCP_NODELAY window opened"),
            ("nodelay_end", "the first write: the window closed (2 system calls; "
                            "resume_after_write tail-calls it, so it is the frame seen)"),
            ("on_new_session", "capture of a new ticket"),
            ("policy_note_new", "SSL_new: the connection's state"),
            ("conn_free_cb", "SSL_free: the connection's state freed"),
            ("resume_ssl_clear", "SSL_clear"))
PERF_PARTS = (("key_from_ssl", "the key"), ("trust_recheck", "the trust re-check"),
              ("state_take", "taking the session from the table"),
              ("nodelay_begin", "opening the TCP_NODELAY window (3 system calls)"))


def perf_total(shares):
    """The library's share of the client's CPU: PERF_TOP's shares summed."""
    return sum(shares.get(fn, 0.0) for fn, _ in PERF_TOP)


def perf_shares(raw):
    """function -> % of the client's CPU samples under it (children), and
    the sample count, from the raw "perf" rows (section 1d)."""
    shares, samples = {}, None
    for row in raw.rows["perf"]:
        if row[0] == "samples":
            samples = row[1] if len(row) > 1 else None
        elif row[0] == "fn" and len(row) > 2:
            try:
                shares[row[1]] = max(shares.get(row[1], 0.0), float(row[2]))
            except ValueError:
                pass
    return shares, samples


# perf record -F 4000: one sample is 250 us of CPU.
PERF_SAMPLE_US = 250.0


def perf_by_object(raw):
    """object -> (own session us/conn, preload us/conn), medians over the
    rounds of the raw "perfobj" rows (1d); objects outside OBJECTS' names
    count as "other". Empty without those rows."""
    per = collections.defaultdict(lambda: collections.defaultdict(float))  # (v, round) -> obj -> us
    for v, rnd, conns, obj, n in raw.rows["perfobj"]:
        name = obj if obj == "lib" else OBJ_NAMES.get(obj, "other")
        per[(v, rnd)][name] += int(n) * PERF_SAMPLE_US / int(conns)
    if not any(v == "own" for v, _ in per) or not any(v == "off" for v, _ in per):
        return {}
    res = {}
    for name in OBJECTS + ("all",):
        vals = {}
        for v in ("own", "off"):
            xs = [sum(d.values()) if name == "all" else d.get(name, 0.0)
                  for (vv, _), d in per.items() if vv == v]
            vals[v] = med(xs)
        res[name] = (vals["own"], vals["off"])
    return res


def section_perf_objects(raw, out):
    """1d, second part: the preload's extra CPU per connection by object
    (perf), beside its extra instructions by object (section 3)."""
    objs = perf_by_object(raw)
    if not objs:
        return
    cg = cg_rows(raw)
    out.append("Where the preload's extra CPU goes: the same client resuming its own session "
               "(`--own-session`) and under the preload (store off), 3 alternating rounds of "
               "2,000 connections each under `perf record -e cpu-clock -F 4000` without call "
               "chains, samples per shared object (medians; one sample = 250 us; perf's own "
               "interrupts make both sides slower than in 1c). Beside it, section 3's "
               "instructions per resumed connection by object, verifying (EC certificate there, "
               "RSA here), and what each extra instruction cost in time.\n")
    out.append("| object | own session us / conn | preload us / conn | preload - own us | "
               "instructions, preload - own | ns per extra instruction |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    for name in OBJECTS + ("all",):
        own, pre = objs[name]
        if name == "all":
            di = cg_per(cg, "verify", "total") - cg_per(cg, "ownverify", "total")
        else:
            di = cg_per(cg, "verify", "obj_" + name) - cg_per(cg, "ownverify", "obj_" + name)
        ns = (pre - own) * 1000 / di if di == di and di > 500 else float("nan")
        what = "**all**" if name == "all" else OBJECT_WHAT[name]
        kern = name == "kernel"
        out.append(f"| {what} | {fmt(own, 1)} | {fmt(pre, 1)} | {fmt(pre - own, 1)} | "
                   f"{'(not counted)' if kern else fint(di)} | {fmt(ns, 2)} |")
    own, pre = objs["all"]
    tot = cg_per(cg, "ownverify", "total")
    if tot == tot and tot > 0 and own > 0:
        out.append("")
        out.append(f"A whole connection of the program resuming itself: {fint(tot)} "
                   f"instructions in {fmt(own, 1)} us of user and kernel time, "
                   f"{fmt(own * 1000 / tot, 3)} ns per instruction on average (most of them "
                   f"OpenSSL's vectorised crypto).")
    out.append("")


def section_perf(raw, out):
    shares, samples = perf_shares(raw)
    if not shares:
        section_perf_objects(raw, out)
        return
    out.append("## 1d. Where the verifying client's CPU goes under the preload, natively (perf)\n")
    out.append("The same client as 1c, store off, TLS 1.3, 2,000 connections, under `perf record "
               "-e cpu-clock -F 4000 --call-graph dwarf` (the CPU clock: no hardware counters "
               f"needed; {samples or '?'} samples, start-up and the first, full, handshake "
               "included). Share of the client's samples under each of the library's functions "
               "that the program's calls (or OpenSSL's callbacks) enter; none runs inside "
               "another, so they add up. Callgrind (section 3) counts instructions; this is "
               "time.\n")
    out.append("| library function | what | % of the client's CPU |")
    out.append("| --- | --- | --- |")
    for fn, what in PERF_TOP:
        out.append(f"| `{fn}` | {what} | {fmt(shares.get(fn, 0.0))}% |")
    out.append(f"| all of them | | **{fmt(perf_total(shares))}%** |")
    out.append("")
    out.append("| of which | % of the client's CPU |")
    out.append("| --- | --- |")
    for fn, what in PERF_PARTS:
        out.append(f"| {what} (`{fn}`) | {fmt(shares.get(fn, 0.0))}% |")
    out.append("")
    section_perf_objects(raw, out)


def inproc_miss(raw, medians, conns, out):
    """Where TLS 1.3's preload / own session client CPU target (1.03) is
    missed: what the parts cost, from the disabled preload above and from
    section 3's instruction counts of this very client configuration, and
    from 1d's profiles."""
    cg, shares = cg_rows(raw), perf_shares(raw)[0]
    m = medians.get(("13", "off", "own", "cli"))
    dis = medians.get(("13", "dis", "own", "cli"))
    lib = cg_per(cg, "verify", "total")
    own = cg_per(cg, "ownverify", "total")
    if m is None or m <= 1.03 or dis is None or not own == own or not lib == lib or own <= 0:
        return
    extra = lib - own
    parts = ", ".join(f"{name} {fint(cg_per(cg, 'verify', metric))}" for name, metric in
                      (("the key", "rb_key_from_ssl"), ("the trust re-check", "rb_trust_recheck"),
                       ("taking the session", "rb_state_take"),
                       ("capture", "incl_on_new_session")))
    text = (f"Where the TLS 1.3 client CPU target is missed ({fmt(m)}x against <= 1.03), its "
            f"parts as measured in this run. Being loaded and interposed, with the library "
            f"switched off: {fmt(dis)}x (the disabled preload above; one process start-up "
            f"spread over the run's connections, and this row's noise). The library's work "
            f"per resumed connection of this client configuration (verifying, store off, TLS "
            f"1.3; section 3) is {fint(extra)} instructions more than the same program "
            f"resuming itself ({fint(own)}): {fmt(extra / own * 100, 1)}% more ({parts}; the "
            f"rest is the per-connection state, the table, the SSL_new/SSL_free hooks). "
            f"In instructions that is {fmt(lib / own, 3)}x")
    first = cg_first_resumption(cg)
    once = cg.get(("off", CG_A), {}).get("incl_ossl_load", 0) + (first if first == first else 0)
    if once > 0 and conns:
        text += (f", and once per process (finding libssl, the first resumed connection's full "
                 f"re-verification: {fint(once)} instructions, section 3) spread over this "
                 f"run's {conns} connections {fmt(once / conns / own * 100, 1)}% more")
    text += "; in time it is more"
    if shares:
        top = perf_total(shares)
        part = ", ".join(f"{what} {fmt(shares.get(fn, 0.0))}%" for fn, what in PERF_PARTS)
        text += (f": natively (section 1d) the library's functions take {fmt(top)}% of this "
                 f"client's CPU ({part}). Its code (text, hashing, allocation, a few system "
                 f"calls) costs more time per instruction than OpenSSL's vectorised crypto, "
                 f"which makes up most of a connection's instructions")
        rest = (m - 1) * 100 - top
        objs = perf_by_object(raw)
        if objs and objs["all"][0] > 0:
            own_us, pre_us = objs["all"]
            di = lib - own
            parts = ", ".join(f"{OBJECT_WHAT[o].split(' (')[0]} {fmt(objs[o][1] - objs[o][0], 1)}"
                              for o in OBJECTS if abs(objs[o][1] - objs[o][0]) >= 0.05)
            text += (f". By object (1d, perf without call chains, where the library's callees "
                     f"count where they run): the preload spends {fmt(pre_us - own_us, 1)} us per "
                     f"connection more than the program's own resumption "
                     f"({fmt(pre_us / own_us, 3)}x under perf): {parts}. "
                     f"Its {fint(di)} extra instructions thus take about "
                     f"{fmt((pre_us - own_us) * 1000 / di, 2) if di > 0 else 'n/a'} ns each, "
                     f"against {fmt(own_us * 1000 / own, 3)} ns for the average instruction of a "
                     f"resumed connection: what it does there (allocation and freeing, hashing, "
                     f"the verification context it sets up for the re-check, copies of sessions, "
                     f"a few system calls) runs at a fraction of the rate of OpenSSL's "
                     f"vectorised crypto")
        elif rest > 1:
            lo, hi = medians.get(("13", "off", "own", "cli", "range"), (None, None))
            both = medians.get(("13", "off", "own", "both"))
            text += (f". The other {fmt(rest, 1)} points of the {fmt(m)}x are in no function of "
                     f"the library's that the profile sees"
                     + (f" (this ratio ranged {fmt(lo)} to {fmt(hi)} over the rounds)"
                        if lo is not None else "")
                     + (f"; client and server together spend {fmt(both)}x what they spend on the "
                        f"program's own resumption" if both is not None else ""))
    else:
        text += " (this run has no native profile: perf could not record)"
    out.append(text + ". Meeting 1.03 needs the library's part cut by more than half.\n")


def client_runs(raw, kind):
    """Rows `kind` (proto variant run seconds rc) and `kind`srv (proto variant
    ssl_protocol reused) -> per-run seconds, failures, resumed and logged counts."""
    runs = collections.defaultdict(dict)   # (proto, variant) -> {run: seconds}
    fails = collections.Counter()
    for row in raw.rows[kind]:
        proto, v, run, secs, rc = row[:5]
        if rc != "0":
            fails[(proto, v)] += 1
            continue
        runs[(proto, v)][int(run)] = float(secs)
    srv = collections.Counter()
    srv_tot = collections.Counter()
    for proto, v, sproto, reused in raw.rows[kind + "srv"]:
        srv_tot[(proto, v)] += 1
        if reused == "r":
            srv[(proto, v)] += 1
    return runs, fails, srv, srv_tot


def server_cpu(raw, kind):
    """(proto, variant) -> {run: nginx worker ns} from the 7th field of `kind` rows."""
    cpu = collections.defaultdict(dict)
    for row in raw.rows[kind]:
        if len(row) >= 6 and row[4] == "0":
            cpu[(row[0], row[1])][int(row[2])] = int(row[5])
    return cpu


def client_tables(raw, out, plot_rows, kind, targets):
    """The tables of sections 2 and 2b: variants, plain / autoresume per-run
    ratios (targets: proto -> minimum, or None), and the server's CPU per run."""
    runs, fails, srv, srv_tot = client_runs(raw, kind)
    out.append("| TLS | variant | runs | median ms | min | max | resumed (server) | failed |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for proto in ("12", "13"):
        for v in ("plain", "preload", "autoresume"):
            t = list(runs[(proto, v)].values())
            if not t and not fails[(proto, v)]:
                continue
            out.append(f"| 1.{proto[1]} | {v} | {len(t)} | {fmt(med(t) * 1e3, 1)} | "
                       f"{fmt(min(t) * 1e3, 1) if t else 'n/a'} | "
                       f"{fmt(max(t) * 1e3, 1) if t else 'n/a'} | "
                       f"{srv[(proto, v)]}/{srv_tot[(proto, v)]} | {fails[(proto, v)]} |")
            if t:
                plot_rows.append((f"TLS 1.{proto[1]}", v, med(t) * 1e3, min(t) * 1e3,
                                  max(t) * 1e3))
    out.append("")
    out.append("| TLS | ratio plain / autoresume | median | min | max | target | |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for proto in ("12", "13"):
        a, b = runs[(proto, "plain")], runs[(proto, "autoresume")]
        common = sorted(set(a) & set(b))
        ratios = [a[i] / b[i] for i in common]
        if not ratios:
            continue
        m = med(ratios)
        t = (targets or {}).get(proto)
        target = f">= {t}" if t is not None else "(none)"
        v = verdict(m, t) if t is not None else ""
        out.append(f"| 1.{proto[1]} | per-run pairs | {fmt(m)}x | {fmt(min(ratios))} | "
                   f"{fmt(max(ratios))} | {target} | {v} |")
        p = runs[(proto, "preload")]
        pc = sorted(set(a) & set(p))
        if pc:
            pr = [a[i] / p[i] for i in pc]
            out.append(f"| 1.{proto[1]} | plain / preload (LD_PRELOAD, no wrapper: one exec "
                       f"fewer), reference | {fmt(med(pr))}x | {fmt(min(pr))} | {fmt(max(pr))} | "
                       f"(none) | |")
    out.append("")
    cpu = server_cpu(raw, kind)
    if cpu:
        out.append("Server CPU per run (the nginx worker's time on a CPU, /proc/PID/schedstat, "
                   "from just before the client starts to its exit; it serves nothing else "
                   "meanwhile):\n")
        out.append("| TLS | plain (full) us | autoresume us | autoresume / plain, per-run pairs "
                   "| min | max | resumed (server) |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for proto in ("12", "13"):
            a, b = cpu[(proto, "plain")], cpu[(proto, "autoresume")]
            common = sorted(set(a) & set(b))
            ratios = [b[i] / a[i] for i in common if a[i] > 0]
            if not ratios:
                continue
            out.append(f"| 1.{proto[1]} | {fmt(med(list(a.values())) / 1e3, 0)} | "
                       f"{fmt(med(list(b.values())) / 1e3, 0)} | {fmt(med(ratios))}x | "
                       f"{fmt(min(ratios))} | {fmt(max(ratios))} | "
                       f"{srv[(proto, 'autoresume')]}/{srv_tot[(proto, 'autoresume')]} |")
        out.append("")


RTT = 0.020  # the delay proxy's round trip (10 ms each way)


def section_curl(raw, out, plot):
    out.append("## 2. `curl -s --cacert` through a 10 ms/direction delay proxy: wall time per run\n")
    out.append("Separate curl processes, plain, with `LD_PRELOAD` set by the benchmark (no wrapper: "
               "as many execs as plain; `timeout`, which starts curl, loads the library too) and "
               "through the wrapper (`build/autoresume`), each library variant with a fresh "
               "AUTORESUME_CACHE store per protocol (its first run is a full handshake and is "
               "counted), alternating; wall time from process start to exit. Resumed = what "
               "nginx logged ($ssl_session_reused). The proxy delays data, not the TCP connect. "
               "curl sets SSL_OP_NO_TICKET, so on TLS 1.2 it can resume only by session id: "
               "these two nginx servers have `ssl_session_cache shared` besides tickets (with "
               "tickets alone, every TLS 1.2 offer is refused by the server).\n")
    client_tables(raw, out, plot["curl"], "curl", {"12": 1.4, "13": 1.0})
    runs = client_runs(raw, "curl")[0]
    plain12 = runs[("12", "plain")]
    if plain12:
        bounds = [t / (t - RTT) for t in plain12.values() if t > RTT]
        out.append(f"The limit of these ratios, if the library cost nothing and resumption saved "
                   f"only round trips: TLS 1.2 saves one ({RTT * 1e3:.0f} ms), so the best is plain / "
                   f"(plain - {RTT * 1e3:.0f} ms) = **{fmt(med(bounds))}x** for this run's plain times "
                   f"(min {fmt(min(bounds))}, max {fmt(max(bounds))}): a 1.4 needs curl's own "
                   f"start-up and local work under {RTT * 0.5 * 1e3:.0f} ms. TLS 1.3 saves no round "
                   f"trip (its full handshake is one round trip too), so the best is 1.0 plus what "
                   f"resumption saves in CPU, which section 2c counts.\n")


def section_wget(raw, out, plot):
    if not raw.rows["wget"]:
        return
    out.append("## 2b. `wget -q --ca-certificate` (GnuTLS) through the same proxy: wall time "
               "per run\n")
    out.append(f"{raw.info.get('wget', 'wget')}. Separate `wget --no-config --no-proxy -4 "
               "--tries=1 -q -O /dev/null --ca-certificate=CA https://localhost:PORT/...` "
               "processes against the same two nginx servers and delay proxies as section 2 "
               "(`-4`: localhost as 127.0.0.1, the name the certificate has), plain and through "
               "the wrapper (its own fresh store per protocol; first run a full "
               "handshake, counted), alternating; wall time from process start to exit; "
               "resumed = what nginx logged. Run after the curl runs of both protocols. No "
               "target: the 1.4 of section 2 was set for curl.\n")
    client_tables(raw, out, plot["wget"], "wget", None)


def section_cgcurl(raw, out, plot):
    v = collections.defaultdict(dict)
    for variant, metric, value in raw.rows["cgcurl"]:
        v[variant][metric] = int(value)
    p, r = v.get("plain"), v.get("resumed")
    if not p or not r or not p.get("total") or not r.get("total"):
        return
    out.append("## 2c. One curl run in instructions (callgrind)\n")
    out.append("One `curl -s --cacert` process straight to the TLS 1.3 nginx (EC certificate), under "
               "`valgrind --tool=callgrind`: a full handshake without the library, and a resumption "
               "from a store that one earlier run filled (`LD_PRELOAD`, the wrapper's exec aside). "
               "Instructions are what wall time cannot show on a shared machine: where a one-shot's "
               "time goes.\n")
    hooks = lambda m: sum(m.get("incl_" + f, 0) for f in ("resume_before", "resume_after", "on_new_session"))
    out.append("| variant | resumed | total Ir | loader start-up (`_dl_start`) | library hooks | "
               "of which re-verification (`trust_recheck`) | stored session parse (`d2i_SSL_SESSION`) "
               "| finding libssl (`ossl_load`) |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, m in (("plain (full handshake)", p), ("autoresume (resumed)", r)):
        out.append(f"| {name} | {m.get('resumed', 0)} | {fint(m['total'])} | {fint(m.get('ldso_start', 0))} | "
                   f"{fint(hooks(m))} | {fint(m.get('incl_trust_recheck', 0))} | "
                   f"{fint(m.get('rb_d2i_SSL_SESSION', 0))} | {fint(m.get('incl_ossl_load', 0))} |")
    handshake_saved = p["total"] - (r["total"] - hooks(r) - r.get("incl_ossl_load", 0)
                                    - (r.get("ldso_start", 0) - p.get("ldso_start", 0)))
    out.append("")
    out.append(f"Resumed / plain: **{r['total'] / p['total']:.3f}x** the instructions. Without the "
               f"library's own work (hooks, finding libssl, the loader's extra start-up) the resumed run "
               f"would take {fint(handshake_saved)} fewer instructions than the full handshake: what "
               f"TLS 1.3 resumption saves the client (no certificate messages to parse, no "
               f"CertificateVerify signature to check; the ECDHE share is computed either way). The "
               f"library spends about as much to stay no weaker: it parses the stored session and its "
               f"certificate and verifies the chain again against this run's trust settings "
               f"(the memo cannot carry a verdict across processes).\n")


def section_cg(raw, out, plot):
    cg = cg_rows(raw)
    if not cg:
        return

    def per(cfg, metric, by="reused"):
        return cg_per(cg, cfg, metric, by)

    def hooks(cfg):
        return cg_hooks(cg, cfg)

    out.append("## 3. Cost of the library (callgrind, instructions)\n")
    out.append("`LD_PRELOAD=.../libautoresume.so valgrind --tool=callgrind arclient -q --sni localhost "
               "-n N 127.0.0.1 PORT` "
               "against TLS 1.3 nginx (EC), N = 2 and N = 21; per resumed connection = "
               "(run N=21 - run N=2) / (resumed connections in N=21 - in N=2), which "
               "removes start-up, the first, full, handshake and the first resumption's "
               "one-time work (the first re-verification of a chain, whose verdict the memo "
               "then keeps; its cost is given below): the steady state of a long-running "
               "client. *Hooks inclusive* = inclusive "
               "instructions of resume_before + resume_after + on_new_session (capture) + "
               "resume_ssl_clear: the library's own work including the OpenSSL functions it "
               "calls for itself (d2i_SSL_SESSION, certificate re-verification, i2d), and none "
               "of the wrapped real SSL_connect/SSL_read/... (on_new_session is called from "
               "inside them and counted alone). *Exclusive* = instructions inside "
               "libautoresume.so's own code only (callgrind_annotate --inclusive=no, summed over "
               "the object).\n")
    names = {"off": "preload, store off", "store": "preload, store on",
             "verify": "preload, store off, --verify --cafile --expect-host"}
    limit = {"off": 2, "store": 2, "verify": 5}
    out.append("| configuration | resumed (N=21) | client Ir / resumed conn | hooks inclusive | "
               "% of client | target | | exclusive | % of client | | of hooks: "
               "d2i_SSL_SESSION | trust_recheck | key_from_ssl | capture |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
               "| --- |")
    for cfg in ("off", "store", "verify"):
        if (cfg, CG_B) not in cg:
            continue
        total = per(cfg, "total")
        h = hooks(cfg)
        ex = per(cfg, "lib_excl")
        out.append(f"| {names[cfg]} | {cg[(cfg, CG_B)]['reused']}/{CG_B - 1} | {fint(total)} | {fint(h)} | "
                   f"{fmt(100 * h / total, 1)}% | <= {limit[cfg]}% | "
                   f"{verdict(100 * h / total, limit[cfg], False)} | "
                   f"{fint(ex)} | {fmt(100 * ex / total, 2)}% | "
                   f"{verdict(100 * ex / total, 2, False)} | "
                   f"{fint(per(cfg, 'rb_d2i_SSL_SESSION'))} | {fint(per(cfg, 'rb_trust_recheck'))} | "
                   f"{fint(per(cfg, 'rb_key_from_ssl'))} | {fint(per(cfg, 'incl_on_new_session'))} |")
        plot["cg"].append((names[cfg].replace("preload, ", "").replace(
            ", --verify --cafile --expect-host", " +verify"), total, h,
            per(cfg, "rb_d2i_SSL_SESSION"), per(cfg, "rb_trust_recheck")))
    out.append("")
    own = per("own", "total")
    ownv = per("ownverify", "total")
    plain = per("plain", "total", by="n")
    off = per("off", "total")
    ver = per("verify", "total")
    out.append("| reference (no preload) | per connection |")
    out.append("| --- | --- |")
    out.append(f"| arclient --own-session (the program resumes itself), Ir / resumed conn "
               f"(resumed {cg.get(('own', CG_B), {}).get('reused', '?')}/{CG_B - 1}) | {fint(own)} |")
    out.append(f"| arclient --own-session --verify --cafile --expect-host, Ir / resumed conn "
               f"(resumed {cg.get(('ownverify', CG_B), {}).get('reused', '?')}/{CG_B - 1}) | "
               f"{fint(ownv)} |")
    out.append(f"| arclient plain, Ir / full handshake | {fint(plain)} |")
    out.append(f"| preload (store off) minus --own-session, Ir / resumed conn | {fint(off - own)} "
               f"({fmt(100 * (off - own) / own, 1)}% more than a self-resumed connection) |")
    out.append(f"| preload (store off, verifying) minus --own-session verifying, Ir / resumed conn "
               f"| {fint(ver - ownv)} ({fmt(100 * (ver - ownv) / ownv, 1)}% more) |")
    if ("off", CG_A) in cg:
        out.append(f"| one-time, per process: ossl_load (finding libssl, resolving symbols), "
                   f"inclusive Ir | {fint(cg[('off', CG_A)].get('incl_ossl_load', 0))} |")
    first = cg_first_resumption(cg)
    if first == first:
        out.append(f"| one-time, per process: the first resumed connection's extra work, "
                   f"verifying (its chain verified in full; later ones find the memo's verdict) "
                   f"| {fint(first)} |")
    plot["cg_ref"] = [("own-session", own), ("plain full", plain)]
    out.append("")

    # the store: instructions and wall time
    st_ir = per("store", "total") - per("off", "total")
    sw = collections.defaultdict(dict)
    resumed_sw = collections.defaultdict(int)
    for v, rnd, n, secs, reused in raw.rows["storewall"]:
        sw[v][int(rnd)] = (float(secs), int(n))
        resumed_sw[v] += int(reused)
    out.append("Store lookup + write (TLS 1.3: each connection claims a ticket file and writes "
               "the new one):\n")
    out.append("| measure | median | min | max |")
    out.append("| --- | --- | --- | --- |")
    out.append(f"| instructions per resumed connection, store on - store off (callgrind) | "
               f"{fint(st_ir)} | | |")
    fs = raw.info.get("store_fs", "?")
    wfs = raw.info.get("work_fs", "?")
    for v, label in (("store", f"store on {fs}"), ("store-workfs", f"store on {wfs}")):
        common = sorted(set(sw[v]) & set(sw["off"]))
        diffs = [(sw[v][i][0] - sw["off"][i][0]) / sw[v][i][1] * 1e6 for i in common]
        if diffs:
            out.append(f"| wall us per connection, {label} - store off (arclient -n 200, "
                       f"{len(diffs)} rounds) | {fmt(med(diffs), 1)} | {fmt(min(diffs), 1)} | "
                       f"{fmt(max(diffs), 1)} |")
    offs = [s / n * 1e6 for s, n in sw["off"].values()]
    if offs:
        out.append(f"| (for scale) wall us per connection, store off | {fmt(med(offs), 1)} | "
                   f"{fmt(min(offs), 1)} | {fmt(max(offs), 1)} |")
    rs = ", ".join(f"{v} {resumed_sw[v]}" for v in ("off", "store", "store-workfs"))
    out.append(f"\nResumed connections in those loops (of {len(sw['off']) * 199} possible "
               f"each): {rs}.\n")


def section_true(raw, out, plot):
    b = collections.defaultdict(dict)
    for v, batch, secs in raw.rows["true"]:
        b[v][int(batch)] = float(secs) / 50
    if not b:
        return
    common = sorted(set(b["plain"]) & set(b["preload"]))
    ratios = [b["preload"][i] / b["plain"][i] for i in common]
    out.append("## 4. Start-up of a non-TLS program: `/bin/true`\n")
    out.append("10 batches of 50 runs per variant, alternating; time per run.\n")
    out.append("| variant | median us | min | max |")
    out.append("| --- | --- | --- | --- |")
    names = {"plain": "plain", "preload": "LD_PRELOAD=lib",
             "empty": "LD_PRELOAD=an empty shared object (the loader's floor)",
             "wrapper": "autoresume /bin/true",
             "env": "env LD_PRELOAD=lib /bin/true (one more exec)"}
    for v in ("plain", "preload", "empty", "wrapper", "env"):
        if not b[v]:
            continue
        t = [x * 1e6 for x in b[v].values()]
        out.append(f"| {names[v]} | {fmt(med(t), 0)} | {fmt(min(t), 0)} | {fmt(max(t), 0)} |")
    m = med(ratios)
    out.append("")
    out.append(f"Ratio preload / plain: median **{fmt(m, 3)}x** (per-batch min {fmt(min(ratios), 3)}, "
               f"max {fmt(max(ratios), 3)}); target <= 1.05: {verdict(m, 1.05, False)}.\n")
    ecommon = sorted(set(b["empty"]) & set(b["plain"]) & set(b["preload"]))
    if ecommon:
        er = [b["empty"][i] / b["plain"][i] for i in ecommon]
        over = [(b["preload"][i] - b["empty"][i]) * 1e6 for i in ecommon]
        out.append(f"Preloading an empty shared object (one int, no code) costs "
                   f"**{fmt(med(er), 3)}x** of plain (min {fmt(min(er), 3)}, max {fmt(max(er), 3)}): "
                   f"that much of the target is the loader's (open, map, relocate, unmap one more "
                   f"object) and out of reach of any LD_PRELOAD library; the library costs "
                   f"{fmt(med(over), 0)} us per run more than that empty object.\n")
    wcommon = sorted(set(b["wrapper"]) & set(b["env"]))
    if wcommon:
        wr = [b["wrapper"][i] / b["env"][i] for i in wcommon]
        extra = [(b["wrapper"][i] - b["preload"][i]) * 1e6 for i in wcommon if i in b["preload"]]
        out.append(f"The wrapper's own cost: `autoresume /bin/true` / `env LD_PRELOAD=lib /bin/true` "
                   f"median **{fmt(med(wr), 3)}x** (target <= 1.0 plus noise: it should cost one "
                   f"exec, as env does); it adds {fmt(med(extra), 0)} us to a preloaded run.\n")
    ir = {v: int(x) for v, x in raw.rows["trueir"]}
    if ir.get("plain") and ir.get("preload"):
        empty = (f", empty object {ir['empty']:,} (+{ir['empty'] - ir['plain']:,})"
                 if ir.get("empty") else "")
        out.append(f"User-space instructions of one run (callgrind; stable, but without the "
                   f"kernel's work of opening and mapping one more object, which dominates the "
                   f"wall time): plain {ir['plain']:,}, preload {ir['preload']:,} "
                   f"(+{ir['preload'] - ir['plain']:,}, {ir['preload'] / ir['plain']:.3f}x){empty}.\n")
    plot["true"] = m


def section_mem(raw, out, plot):
    rows = [(int(c), int(r), float(e), int(res), int(f)) for c, r, e, res, f in raw.rows["mem"]]
    if not rows:
        return
    out.append("## 5. Memory: RSS over 1,000 server names (AUTORESUME_CACHE=off)\n")
    out.append("bench/memclient (one SSL_CTX, no verification) under the preload with "
               "AUTORESUME_CACHE=off (the store would be too slow), rotating SNI over "
               "name0.test..name999.test, TLS 1.3 nginx answering any name; VmRSS every 10,000 "
               "connections. The table of 1,000 keys (AUTORESUME_MAX_HOSTS default) is full "
               "after the first 1,000 connections.\n")
    out.append("| connections | VmRSS kB | elapsed s | resumed in block | failed in block |")
    out.append("| --- | --- | --- | --- | --- |")
    for c, r, e, res, f in rows:
        out.append(f"| {c:,} | {r:,} | {e:.1f} | {res:,} | {f} |")
    done = rows[-1][0]
    out.append("")
    after = [(c, r) for c, r, *_ in rows if c >= 10000]
    if len(after) >= 2:
        growth = max(r for _, r in after) - after[0][1]
        n = len(after)
        mx = sum(c for c, _ in after) / n
        my = sum(r for _, r in after) / n
        sxx = sum((c - mx) ** 2 for c, _ in after)
        slope = sum((c - mx) * (r - my) for c, r in after) / sxx * 10000 if sxx else 0
        flat = growth <= 1024
        out.append(f"Growth from 10,000 connections to the highest later sample: {growth:,} kB "
                   f"(least-squares slope {slope:,.1f} kB per 10,000 connections). Criterion "
                   f"(fixed before running): flat if that growth is <= 1,024 kB: "
                   f"{'met (flat)' if flat else '**MISSED** (RSS still growing)'}.")
    else:
        out.append("Too few samples after 10,000 connections to judge flatness: **MISSED** "
                   "(not measured).")
    target = 100000
    if done < target:
        out.append(f" Only {done:,} of {target:,} connections fit in the time limit "
                   f"({raw.info.get('mem_limit_s', '?')} s) on this machine.")
    out.append("")
    plot["mem"] = [(c, r) for c, r, *_ in rows]


def draw(plot, png, gnuplot):
    d = tempfile.mkdtemp(prefix="ar-bench-plot.")
    script = [f"set terminal pngcairo size 1400,1000 font 'sans,9'",
              f"set output '{png}'",
              "set multiplot layout 2,2 title 'libautoresume benchmark (numbers: bench/results/latest.md)'",
              "set style data histogram", "set style histogram errorbars gap 1 lw 1",
              "set termoption noenhanced",
              "set style fill solid 0.8 border -1", "set grid ytics",
              "set key inside top left Left reverse samplen 2 font ',8'",
              "set offsets 0, 0, graph 0.3, 0",
              "set yrange [0:*]", "set boxwidth 0.9"]
    # 1. s_time rates
    if plot["stime"]:
        groups = []
        for g, *_ in plot["stime"]:
            if g not in groups:
                groups.append(g)
        variants = ["plain", "off", "store", "reuse"]
        labels = {"plain": "plain", "off": "preload (store off)", "store": "preload (store on)",
                  "reuse": "s_time -reuse"}
        with open(f"{d}/stime.dat", "w") as f:
            for g in groups:
                vals = {v: (m, lo, hi) for gg, v, m, lo, hi in plot["stime"] if gg == g}
                f.write(f"\"{g}\"")
                for v in variants:
                    m, lo, hi = vals.get(v, (0, 0, 0))
                    f.write(f" {m:.1f} {lo:.1f} {hi:.1f}")
                f.write("\n")
        plots = ", ".join(
            f"'{d}/stime.dat' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}"
            f"{':xtic(1)' if i == 0 else ''} title '{labels[v]}'"
            for i, v in enumerate(variants))
        script += ["set title '1. openssl s_time: connections/s (wall; median, min-max)'",
                   "set ylabel 'connections / s'", f"plot {plots}"]
    else:
        script += ["set title '1. (no s_time data)'", "plot 0 notitle"]
    # 2. curl, 2b. wget
    if plot["curl"] or plot["wget"]:
        with open(f"{d}/curl.dat", "w") as f:
            for prog in ("curl", "wget"):
                for g in ("TLS 1.2", "TLS 1.3"):
                    vals = {v: (m, lo, hi) for gg, v, m, lo, hi in plot[prog] if gg == g}
                    if not vals:
                        continue
                    f.write(f"\"{prog} {g}\"")
                    for v in ("plain", "autoresume"):
                        m, lo, hi = vals.get(v, (0, 0, 0))
                        f.write(f" {m:.2f} {lo:.2f} {hi:.2f}")
                    f.write("\n")
        progs = " and ".join(p for p in ("curl", "wget") if plot[p])
        script += [f"set title '2. {progs} via 10 ms/direction proxy: ms per run "
                   f"(median, min-max)'",
                   "set ylabel 'ms per run'",
                   f"plot '{d}/curl.dat' using 2:3:4:xtic(1) title 'plain', "
                   f"'' using 5:6:7 title 'through the wrapper'"]
    else:
        script += ["set title '2. (no curl data)'", "plot 0 notitle"]
    # 3. callgrind
    if plot["cg"]:
        with open(f"{d}/cg.dat", "w") as f:
            for name, total, h, d2i, tr in plot["cg"]:
                f.write(f"\"{name}\" {total / 1e6:.4f} {h / 1e6:.4f} {d2i / 1e6:.4f} "
                        f"{tr / 1e6:.4f}\n")
            for name, v in plot.get("cg_ref", []):
                f.write(f"\"{name}\" {v / 1e6:.4f} 0 0 0\n")
        script += ["set style histogram clustered gap 1",
                   "set title '3. callgrind: million instructions per connection (TLS 1.3)'",
                   "set ylabel 'M instructions'",
                   f"plot '{d}/cg.dat' using 2:xtic(1) title 'client total', "
                   f"'' using 3 title 'library hooks (inclusive)', "
                   f"'' using 4 title '  of which d2i_SSL_SESSION', "
                   f"'' using 5 title '  of which trust_recheck'"]
    else:
        script += ["set title '3. (no callgrind data)'", "plot 0 notitle"]
    # 5. memory
    if plot["mem"]:
        with open(f"{d}/mem.dat", "w") as f:
            for c, r in plot["mem"]:
                f.write(f"{c} {r / 1024:.2f}\n")
        script += ["set style data linespoints", "unset style histogram",
                   "set title '5. VmRSS vs connections (1,000 SNI names, store off)'",
                   "set xlabel 'connections'", "set ylabel 'MiB'", "set format x '%.0f'",
                   "set offsets 0, 0, graph 0.1, 0", "set key bottom right",
                   f"plot '{d}/mem.dat' using 1:2 with linespoints lw 2 pt 7 title 'VmRSS'"]
    else:
        script += ["set title '5. (no memory data)'", "plot 0 notitle"]
    script += ["unset multiplot", "set output"]
    with open(f"{d}/chart.gp", "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run([gnuplot, f"{d}/chart.gp"], capture_output=True, text=True)
    shutil.rmtree(d, ignore_errors=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return False
    return True


def report(raw_path, md, png, gnuplot):
    raw = Raw(raw_path)
    out = ["# libautoresume benchmark: latest run", ""]
    info = raw.info
    out.append(f"Machine: {info.get('host', '?')}; load average {info.get('loadavg_start', '?')} "
               f"at start, {info.get('loadavg_end', '?')} at end. {info.get('openssl', '?')}, "
               f"nginx {info.get('nginx', '?')}, {info.get('curl', '?')}"
               f"{', ' + info['wget'] if 'wget' in info else ''}. Tree: "
               f"{info.get('git', '?')}. Measurements before the report took "
               f"{info.get('total_s', '?')} s. Session stores on {info.get('store_fs', '?')}. "
               f"Library measured: a copy of build/libautoresume.so taken at the start "
               f"({info.get('lib_start', '?')}), with a copy of build/arclient.\n")
    if info.get("lib_end") and info.get("lib_end") != info.get("lib_start"):
        out.append(f"Note: build/libautoresume.so was rebuilt during the run (now "
                   f"{info['lib_end']}); these results are for the copy taken at the start.\n")
    loads = raw.rows.get("load", [])
    if loads:
        out.append("Load average (1 min) when each part started (2 CPUs; wall-clock numbers taken "
                   "under a high load are noisy, instruction counts are not): "
                   + ", ".join(f"{part}: {value}" for part, value in loads) + ".\n")
    plot = {"stime": [], "curl": [], "wget": [], "cg": [], "mem": []}
    section_stime(raw, out, plot)
    section_inproc(raw, out, plot)
    section_perf(raw, out)
    section_curl(raw, out, plot)
    section_wget(raw, out, plot)
    section_cgcurl(raw, out, plot)
    section_cg(raw, out, plot)
    section_true(raw, out, plot)
    section_mem(raw, out, plot)
    if raw.notes:
        out.append("## Notes\n")
        out += [f"- {n}" for n in raw.notes]
        out.append("")
    missed = sum(line.count("**MISSED**") for line in out)
    out.append(f"**Targets missed: {missed}.**" if missed else "All targets met.")
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(md), exist_ok=True)
    with open(md, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    if gnuplot:
        if os.path.exists(png):
            os.remove(png)
        if not draw(plot, png, gnuplot):
            sys.stderr.write("report.py: gnuplot failed; no chart\n")
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "cg":
        for k, v in cg_metrics(argv[2], argv[3]).items():
            print(k, v)
        return 0
    if len(argv) == 6 and argv[1] == "report":
        return report(*argv[2:6])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
