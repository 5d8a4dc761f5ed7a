"""How benches/loadgen.py runs each load generator and reads its figures (one function per tool).

Every tool runs pinned (`taskset -c GEN_CPU`) under `/usr/bin/time -v`, bounded by `timeout`, and returns one dict:
requests (2xx and others), errors, rps, p50/p90/p99 in ms (None where the tool does not say), cpu_s (user+sys of
the generator, start-up included) and rss_mb (peak resident memory).
"""

import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import urllib.request

GEN_CPU = os.environ.get("LOADGEN_GEN_CPU", "1")


def timed(cmd, seconds):
    """Run cmd pinned under /usr/bin/time -v; return (stdout, cpu seconds, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["timeout", "-s", "KILL", str(int(seconds) + 60), "taskset", "-c", GEN_CPU,
                "/usr/bin/time", "-v", "-o", tf.name] + cmd
        out = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
        t = tf.read()
    field = lambda name: float(re.search(re.escape(name) + r":\s*([\d.]+)", t).group(1))
    cpu = field("User time (seconds)") + field("System time (seconds)")
    return out.stdout, cpu, field("Maximum resident set size (kbytes)") / 1024


def result(requests, errors, seconds, cpu, rss, p50=None, p90=None, p99=None, **extra):
    return dict(requests=requests, errors=errors, rps=requests / seconds if seconds else 0.0, cpu_s=cpu,
                rss_mb=rss, p50=p50, p90=p90, p99=p99, **extra)


def last_json(out):
    """The last line of stdout: goose prints a line of its own ("All N users launched.") before it."""
    return json.loads(out.strip().splitlines()[-1])


def ours(exe, base, conns, seconds, rate=None, requests=None, users=None, ca_file=None, scraped=False):
    """spacetime-drill's engine: a closed loop, the open model at `rate`, or `users` goose users; `ca_file` is the
    CA to trust for an https `base`; with `scraped`, live metrics on (`--metrics-listen`) and scraped every second
    from here, as a Prometheus would."""
    cmd = [exe, "bench-load", "--url", base, "--connections", str(conns), "--duration", f"{seconds}s"]
    if ca_file:
        cmd += ["--ca-file", ca_file]
    if rate:
        cmd += ["--rate", str(rate)]
    if requests:
        cmd += ["--requests", str(requests)]
    if users:
        cmd += ["--users", str(users)]
    scraper = None
    if scraped:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd += ["--metrics-listen", f"127.0.0.1:{port}"]
        scraper = Scraper(f"http://127.0.0.1:{port}/metrics")
    out, cpu, rss = timed(cmd, seconds)
    j = last_json(out)
    extra = {"scrapes": scraper.stop()} if scraper else {}
    return result(j["requests"], j["errors"], j["seconds"], cpu, rss, j["p50_ms"], j["p90_ms"], j["p99_ms"],
                  service_p50=j["service_p50_ms"], service_p99=j["service_p99_ms"], dropped=j["dropped"],
                  late=j["late"], **extra)


class Scraper:
    """GET a /metrics URL once a second on a thread until stop(); counts the scrapes that answered."""

    def __init__(self, url):
        self.url, self.done, self.ok = url, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.wait(1.0):
            try:
                urllib.request.urlopen(self.url, timeout=1).read()
                self.ok += 1
            except OSError:
                pass

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.ok


def goose(exe, base, users, seconds):
    """Plain goose (benches/plain_goose.rs): one GET /status transaction, goose's own metrics on."""
    out, cpu, rss = timed([exe, base, str(users), str(seconds)], seconds)
    j = last_json(out)
    return result(j["requests"], j["errors"], j["seconds"], cpu, rss)


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, conns, seconds):
    """wrk, one thread (it has one core), closed loop; --latency gives p50/p90/p99."""
    out, cpu, rss = timed(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url], seconds)
    pct = {m.group(1): float(m.group(2)) * WRK_UNITS[m.group(3)]
           for m in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    m = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    secs = float(m.group(2)) * (60 if m.group(3) == "m" else 1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errs.groups())) if errs else 0)
    return result(int(m.group(1)), errors, secs, cpu, rss, pct.get("50"), pct.get("90"), pct.get("99"))


def oha(url, conns, seconds, rate=None, corrected=False, cacert=None):
    """oha (hyper), no TUI, JSON summary; -q for a fixed rate, optionally --latency-correction; `cacert` is the CA
    to trust for an https `url`."""
    cmd = ["oha", "-z", f"{seconds}s", "-c", str(conns), "--no-tui", "--output-format", "json"]
    if cacert:
        cmd += ["--cacert", cacert]
    if rate:
        cmd += ["-q", str(rate)]
    if corrected:
        cmd.append("--latency-correction")
    out, cpu, rss = timed(cmd + [url], seconds)
    j = json.loads(out)
    codes = j.get("statusCodeDistribution", {})
    ok = sum(n for c, n in codes.items() if c.startswith("2"))
    errors = sum(codes.values()) - ok
    errors += sum(n for e, n in j.get("errorDistribution", {}).items() if "deadline" not in e)
    ms = lambda k: j["latencyPercentiles"].get(k) and j["latencyPercentiles"][k] * 1000
    return result(sum(codes.values()), errors, j["summary"]["total"], cpu, rss, ms("p50"), ms("p90"), ms("p99"))
