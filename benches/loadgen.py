#!/usr/bin/env python3
"""spacetime-drill's load engine side by side with wrk and oha on this machine (issue 7, "Benchmarks" item 2).

    benches/loadgen.py          (as root for apt-get; LOADGEN_REPS=3 LOADGEN_SECONDS=10 by default)

1. installs what is missing: Debian nginx, wrk and time (apt-get), oha (cargo install --locked; a ~5 min build);
   a peer that cannot be installed is skipped and said so; builds spacetime-drill --release;
2. nginx on 127.0.0.1 (a free port, one worker, access log off, `return 200 <json>` at /status) pinned to CPU 0;
3. pinned to CPU 1, REPS x SECONDS each (median; the tools take turns within each rep, so a drift of the machine
   hits all of them alike): closed loops of 32 keep-alive connections (ours, wrk, oha), ours and oha at a fixed
   2,000 req/s, and 32 goose users without think time (our users mode, plain goose); achieved req/s and generator
   user+sys CPU-s from /usr/bin/time -v;
4. accuracy: a server holding every response 20 ms (closed loops of 8 connections, ~400 req/s, so the Python
   server's own hold stays near 20 ms; and our open model at 300 req/s), and one
   freezing 1 s every 5 s at 200 req/s for 15 s (ours: intended-time and service-time; oha with and without
   --latency-correction);
5. memory: our peak RSS after 10 k and after 1 M requests;
6. TLS (issue 11): nginx serving HTTPS with a throwaway CA and certificate made here by the openssl CLI, closed
   loops of 32 keep-alive connections, ours and oha each trusting that CA; printed beside the plain-HTTP figures.
   `LOADGEN_ONLY=tls` runs this pass alone (with the plain-HTTP closed loop it is compared with).
7. live metrics (issue 14): our closed loop with `--metrics-listen` scraped every second vs without, requests per
   CPU-second (`LOADGEN_ONLY=metrics` runs this pass alone, without installing the peers).
Prints the tables and the issue's targets as ratios; the raw figures go to target/loadgen.json. Traffic goes to
127.0.0.1 only, every tool runs under `timeout`, and everything started here is killed on exit (any exit).
"""

import atexit
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen_tools as tools  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRV_CPU = os.environ.get("LOADGEN_SRV_CPU", "0")
REPS = int(os.environ.get("LOADGEN_REPS", "3"))
ONLY = os.environ.get("LOADGEN_ONLY", "")
SECS = int(os.environ.get("LOADGEN_SECONDS", "10"))
# LOADGEN_EXE measures another build of ours (e.g. target/release-lto/spacetime-drill, issue 15's profile comparison).
EXE = os.environ.get("LOADGEN_EXE") or os.path.join(ROOT, "target", "release", "spacetime-drill")
GOOSE = os.path.join(ROOT, "target", "release", "examples", "plain_goose")
JSON = b'{"overall_ready":true,"state":2,"debug_adapter":{"service_name":"Debug Adapter","port":6006,"state":2}}'
children = []
skipped = {}


def cleanup():
    for p in children:
        try:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


atexit.register(cleanup)
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, lambda s, f: sys.exit(128 + s))


def sh(cmd, timeout):
    return subprocess.run(cmd, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def install():
    peers = ONLY != "metrics"
    wanted = (("nginx", "nginx-light"), ("wrk", "wrk")) if peers else (("nginx", "nginx-light"),)
    apt = [pkg for cmd, pkg in wanted if not shutil.which(cmd)]
    apt += [] if os.path.exists("/usr/bin/time") else ["time"]
    if apt and sh(["apt-get", "install", "-y"] + apt, 600).returncode != 0:
        sh(["apt-get", "update"], 600)
        sh(["apt-get", "install", "-y"] + apt, 600)
    for cmd in ("nginx", "wrk"):
        if not shutil.which(cmd):
            skipped[cmd] = "apt-get could not install it"
    if not os.path.exists("/usr/bin/time"):
        sys.exit("/usr/bin/time (Debian package `time`) is required and could not be installed")
    # The same artifacts in every pass: building the binary alone unifies features without the example's
    # dev-dependencies, so it would be rebuilt (minutes) and differ from the binary the other passes measured.
    what = ["--bin", "spacetime-drill", "--example", "plain_goose"]
    if not peers:
        return build(what)
    if not shutil.which("oha"):
        print("installing oha with cargo install --locked (about 5 minutes)...", flush=True)
        if sh(["cargo", "install", "--locked", "oha"], 3600).returncode != 0 or not shutil.which("oha"):
            skipped["oha"] = "cargo install --locked oha failed (or ~/.cargo/bin is not on PATH)"
    build(what)


def build(what):
    print(f"building {' '.join(what)} --release...", flush=True)
    if sh(["cargo", "build", "--release"] + what, 3600).returncode != 0:
        sys.exit("cargo build --release failed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port, scheme="http", ctx=None):
    """Start a server pinned to SRV_CPU in its own process group; wait until it answers /status."""
    p = subprocess.Popen(["taskset", "-c", SRV_CPU] + cmd, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children.append(p)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/status", timeout=1, context=ctx).read()
            return p
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{cmd[0]} did not answer on port {port}")


def stop(p):
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    children.remove(p)


def nginx(tmp, tls=None):
    """nginx answering /status on a free port; with `tls` = (cert, key), over HTTPS only (TLS session cache on)."""
    port = free_port()
    conf = os.path.join(tmp, "nginx-tls.conf" if tls else "nginx.conf")
    body = JSON.decode().replace("'", "\\'")
    listen = f"listen 127.0.0.1:{port};"
    if tls:
        listen = (f"listen 127.0.0.1:{port} ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}; "
                  "ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:1m;")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {conf}.pid; error_log {conf}.error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 10000000; keepalive_timeout 60s;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  server {{ {listen} location = /status {{ default_type application/json; return 200 '{body}'; }} }} }}
""")
    if tls:
        import ssl
        start(["nginx", "-p", tmp, "-c", conf], port, "https", ssl.create_default_context(cafile=tls[2]))
    else:
        start(["nginx", "-p", tmp, "-c", conf], port)
    return port


def throwaway_pki(tmp):
    """A CA and a server certificate for 127.0.0.1 (IP SAN) signed by it, made now with the openssl CLI and
    deleted with `tmp`: (cert, key, ca)."""
    d = os.path.join(tmp, "pki")
    os.mkdir(d)
    f = lambda n: os.path.join(d, n)
    with open(f("ext"), "w") as e:
        e.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (["openssl", "req", "-x509"] + ec + ["-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1",
                 "-subj", "/CN=loadgen throwaway CA", "-addext", "basicConstraints=critical,CA:TRUE"],
                ["openssl", "req"] + ec + ["-keyout", f("server.key"), "-out", f("server.csr"),
                 "-subj", "/CN=127.0.0.1"],
                ["openssl", "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
                 "-CAcreateserial", "-out", f("server.pem"), "-days", "1", "-extfile", f("ext")]):
        r = sh(cmd, 60)
        if r.returncode != 0:
            sys.exit(f"openssl failed: {r.stderr}")
    return f("server.pem"), f("server.key"), f("ca.pem")


def slow(mode):
    port = free_port()
    p = start([sys.executable, os.path.join(ROOT, "benches", "slowserver.py"), str(port), mode], port)
    return p, port


def median(runs):
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float)) or v is None]
    return {k: (statistics.median(r[k] for r in runs) if runs[0][k] is not None else None) for k in keys}


def reps(tools_):
    """REPS runs of each tool, taking turns; the median of each figure (None for a skipped tool)."""
    runs = {name: [] for name in tools_}
    for i in range(REPS):
        for name, fn in tools_.items():
            if name.split()[0] in skipped:
                continue
            r = fn()
            r["per_cpu"] = r["requests"] / r["cpu_s"] if r["cpu_s"] else None
            runs[name].append(r)
            print(f"  rep {i + 1} {name}: {r['rps']:,.0f} req/s, {r['cpu_s']:.2f} CPU-s, "
                  f"{fmt(r['per_cpu'])} req/CPU-s", flush=True)
    return {name: median(r) if r else None for name, r in runs.items()}


def fmt(v, f="{:,.0f}"):
    return "-" if v is None else f.format(v)


def efficiency_table(title, rows):
    print(f"\n{title}\n| tool | req/s | gen CPU-s | req/CPU-s | µs CPU/req | p50 ms | p99 ms | errors |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, r in rows.items():
        if r is None:
            print(f"| {name} | skipped: {skipped.get(name.split()[0], '')} |")
            continue
        print(f"| {name} | {fmt(r['rps'])} | {r['cpu_s']:.2f} | {fmt(r['per_cpu'])} | "
              f"{fmt(1e6 / r['per_cpu'], '{:.1f}')} | {fmt(r['p50'], '{:.2f}')} | {fmt(r['p99'], '{:.2f}')} | "
              f"{fmt(r['errors'])} |")


def tls_pass(tmp):
    """Closed loops of 32 keep-alive connections over TLS to nginx: ours and oha, each trusting the throwaway CA, and
    wrk for reference (it does not verify certificates)."""
    cert, key, ca = throwaway_pki(tmp)
    base = f"https://127.0.0.1:{nginx(tmp, (cert, key, ca))}"
    print(f"TLS: closed loops, 32 connections, nginx over HTTPS (throwaway CA), {SECS} s x {REPS}", flush=True)
    return reps({"spacetime-drill (TLS)": lambda: tools.ours(EXE, base, 32, SECS, ca_file=ca),
                 "oha (TLS)": lambda: tools.oha(base + "/status", 32, SECS, cacert=ca),
                 "wrk (TLS)": lambda: tools.wrk(base + "/status", 32, SECS)})


def main():
    install()
    res = {"skipped": skipped}
    only_tls = ONLY == "tls"
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        if "nginx" in skipped:
            sys.exit("nginx is required")
        base = f"http://127.0.0.1:{nginx(tmp)}"
        url = base + "/status"
        if ONLY == "metrics":
            return metrics_only(base)
        print(f"\nclosed loops, 32 connections, {SECS} s x {REPS} (median), nginx on CPU {SRV_CPU}, "
              f"generators on CPU {tools.GEN_CPU}", flush=True)
        closed = reps({"spacetime-drill": lambda: tools.ours(EXE, base, 32, SECS),
                       "wrk": lambda: tools.wrk(url, 32, SECS),
                       "oha": lambda: tools.oha(url, 32, SECS)})
        tls = tls_pass(tmp)
        if only_tls:
            efficiency_table("## Closed loop, 32 keep-alive connections, nginx: plain HTTP and TLS", {**closed, **tls})
            print_tls_target(closed, tls)
            return
        print("fixed rate 2,000 req/s, 32 connections", flush=True)
        fixed = reps({"spacetime-drill": lambda: tools.ours(EXE, base, 32, SECS, rate=2000),
                      "oha": lambda: tools.oha(url, 32, SECS, rate=2000)})
        print("goose: 32 users, no think time", flush=True)
        users = reps({"spacetime-drill --users (goose)": lambda: tools.ours(EXE, base, 32, SECS, users=32),
                      "plain goose": lambda: tools.goose(GOOSE, base, 32, SECS)})
        metrics = metrics_pass(base)
        print("memory: closed loop until 10 k and 1 M requests", flush=True)
        mem = {n: tools.ours(EXE, base, 32, 120, requests=n)["rss_mb"] for n in (10_000, 1_000_000)}
    efficiency_table("## Closed loop, 32 keep-alive connections, nginx: plain HTTP and TLS", {**closed, **tls})
    efficiency_table("## Fixed rate 2,000 req/s", fixed)
    efficiency_table("## goose users, 32, no think time", users)
    efficiency_table("## Closed loop, live metrics on vs off", metrics)
    res.update(closed=closed, tls=tls, fixed=fixed, users=users, memory_mb=mem, metrics=metrics)
    res["accuracy"] = accuracy()
    res["targets"] = targets(res)
    out = os.path.join(ROOT, "target", "loadgen.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"\nraw figures: {out}")


def metrics_pass(base):
    """Closed loops with live metrics served and scraped every second vs without (issue 14: within 5 %)."""
    print(f"\nlive metrics: closed loops, 32 connections, {SECS} s x {REPS} (median), scraped every 1 s vs off",
          flush=True)
    return reps({"spacetime-drill, metrics off": lambda: tools.ours(EXE, base, 32, SECS),
                 "spacetime-drill, metrics on (1 s scrapes)": lambda: tools.ours(EXE, base, 32, SECS, scraped=True)})


def metrics_ratio(m):
    on, off = m["spacetime-drill, metrics on (1 s scrapes)"], m["spacetime-drill, metrics off"]
    return on["per_cpu"] / off["per_cpu"]


def metrics_only(base):
    m = metrics_pass(base)
    efficiency_table("## Closed loop, live metrics on vs off", m)
    print(f"\n| closed req/CPU-s, metrics on / off | {metrics_ratio(m):.3f} | >= 0.95 |")
    with open(os.path.join(ROOT, "target", "loadgen-metrics.json"), "w") as f:
        json.dump(m, f, indent=1)


def accuracy():
    print("\naccuracy: 20 ms server, closed loops of 8 connections and our open model", flush=True)
    acc = {}
    for name, fn in (("spacetime-drill", lambda b: tools.ours(EXE, b, 8, SECS)),
                     ("spacetime-drill open 300 req/s (intended time)",
                      lambda b: tools.ours(EXE, b, 32, SECS, rate=300)),
                     ("wrk", lambda b: tools.wrk(b + "/status", 8, SECS)),
                     ("oha", lambda b: tools.oha(b + "/status", 8, SECS))):
        if name.split()[0] in skipped:
            continue
        p, port = slow("delay")
        acc[name] = fn(f"http://127.0.0.1:{port}")
        acc[name]["server"] = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats", timeout=5))
        stop(p)
    print("\n## 20 ms server\n| tool | req/s | p50 ms | p90 ms | p99 ms | p50 - 20 ms | server hold p50 |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for n, r in acc.items():
        print(f"| {n} | {fmt(r['rps'])} | {fmt(r['p50'], '{:.2f}')} | {fmt(r['p90'], '{:.2f}')} | "
              f"{fmt(r['p99'], '{:.2f}')} | {fmt(r['p50'] - 20, '{:+.2f}')} | {r['server']['p50_ms']} |")
    print("\nstall: 1 s freeze every 5 s, 200 req/s for 15 s", flush=True)
    stall = {}
    runs = (("spacetime-drill (intended time; in-flight cap 256)", lambda b: tools.ours(EXE, b, 256, 15, rate=200)),
            ("oha -q", lambda b: tools.oha(b + "/status", 32, 15, rate=200)),
            ("oha -q --latency-correction", lambda b: tools.oha(b + "/status", 32, 15, rate=200, corrected=True)))
    for name, fn in runs:
        if name.split()[0] in skipped:
            continue
        p, port = slow("stall")
        stall[name] = fn(f"http://127.0.0.1:{port}")
        stop(p)
    print("\n## Freezing server (true p90 ~ 500 ms, p99 ~ 950 ms)\n| tool | responses | p50 ms | p90 ms | p99 ms | "
          "service p50 ms |\n|---|--:|--:|--:|--:|--:|")
    for n, r in stall.items():
        print(f"| {n} | {r['requests']} | {fmt(r['p50'], '{:.2f}')} | {fmt(r['p90'], '{:.1f}')} | "
              f"{fmt(r['p99'], '{:.1f}')} | {fmt(r.get('service_p50'), '{:.2f}')} |")
    return {"delay_20ms": acc, "stall": stall}


def targets(res):
    c, f, u, a, m = res["closed"], res["fixed"], res["users"], res["accuracy"], res["memory_mb"]
    ours = c["spacetime-drill"]
    rows = []
    if c.get("oha"):
        rows.append(("closed req/CPU-s vs oha", ours["per_cpu"] / c["oha"]["per_cpu"], ">= 1.0"))
    rows += tls_rows(res["tls"])
    if c.get("wrk"):
        rows.append(("closed req/CPU-s vs wrk", ours["per_cpu"] / c["wrk"]["per_cpu"], ">= 0.7"))
    if f.get("oha"):
        rows.append(("fixed 2k CPU/request, ours / oha", f["oha"]["per_cpu"] / f["spacetime-drill"]["per_cpu"],
                     "<= 1.0"))
    if u.get("plain goose"):
        rows.append(("goose users req/CPU-s vs plain goose", u["spacetime-drill --users (goose)"]["per_cpu"] /
                     u["plain goose"]["per_cpu"], ">= 0.9"))
    rows.append(("closed req/CPU-s, metrics on / off", metrics_ratio(res["metrics"]), ">= 0.95"))
    for name, d in a["delay_20ms"].items():
        if name.startswith("spacetime-drill"):
            rows.append((f"20 ms server p50 - 20 ms, {name}", d["p50"] - 20, "<= +1.0 ms"))
    s = next(v for k, v in a["stall"].items() if k.startswith("spacetime-drill"))
    rows += [("freeze intended p90 ms", s["p90"], ">= 300"), ("freeze intended p99 ms", s["p99"], ">= 900"),
             ("freeze service p50 ms", s["service_p50"], "< 2"),
             ("RSS 1 M / 10 k", m[1_000_000] / m[10_000], "<= 1.2")]
    print(f"\n## Targets (issue 7)\nmemory: {m[10_000]:.1f} MiB after 10 k, {m[1_000_000]:.1f} MiB after 1 M\n"
          "| target | measured | wanted |\n|---|--:|--:|")
    for name, v, want in rows:
        print(f"| {name} | {v:.2f} | {want} |")
    if skipped:
        print("skipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return rows


def tls_rows(tls):
    ours = tls.get("spacetime-drill (TLS)")
    if not ours:
        return []
    rows = []
    if tls.get("oha (TLS)"):
        rows.append(("TLS closed req/CPU-s vs oha (issue 11)", ours["per_cpu"] / tls["oha (TLS)"]["per_cpu"], ">= 1.0"))
    if tls.get("wrk (TLS)"):
        rows.append(("TLS closed req/CPU-s vs wrk (reference; wrk verifies nothing)",
                     ours["per_cpu"] / tls["wrk (TLS)"]["per_cpu"], "-"))
    return rows


def print_tls_target(closed, tls):
    """LOADGEN_ONLY=tls: the TLS pass's target and its cost against the plain-HTTP loop, without the rest."""
    print("\n| target | measured | wanted |\n|---|--:|--:|")
    for name, v, want in tls_rows(tls):
        print(f"| {name} | {v:.2f} | {want} |")
    ours, plain = tls.get("spacetime-drill (TLS)"), closed.get("spacetime-drill")
    if ours and plain:
        print(f"| ours over TLS / ours over plain HTTP, req/CPU-s | {ours['per_cpu'] / plain['per_cpu']:.2f} | |")


if __name__ == "__main__":
    main()
