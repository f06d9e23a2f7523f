#!/usr/bin/env python3
"""zk-stats-daemon's ingest rate and scrape latency, as the "Performance" issue defines them.

usage: scripts/bench-daemon.py [--live] [CAPTURE...]
  CAPTURE defaults to target/bench/corpus/*.pcap (scripts/record-corpus.sh), else the shipped
  tests/data/zk38-mtu1500.pcap.

For each capture, the release daemon (client, quorum and election ports, as operators run it)
is pinned to one core (taskset) and replays the file as fast as it can, twice:
  - "ingest": /json/info polled every 50 ms, to see when the replay is done;
  - "ingest+scrape": /metrics also scraped every 10 ms from the other core, as a busy
    Prometheus would, each scrape timed.
Reported: packets/s (packets over the time from start to the replay's end), the scrape
latency (median, 99th percentile, slowest) and the daemon's resident memory at the end.

--live (root): replays the first 1,000,000 packets with tcpreplay onto one end of a veth pair in
a private network namespace while the daemon, pinned to one core, captures the other end.
tcpreplay on this kind of VM sends far fewer than 1 M packets/s, so the daemon is paused
(SIGSTOP) while the whole file is queued in its 256 MiB kernel ring, then resumed and timed
as it drains the ring with /metrics scraped every 10 ms: its live rate on one core, the kernel
drops (which must be 0) and the scrape latency while it works.

Speed targets live here, never in tests. Build first: cargo build --release -p zkwire
(BENCH_BIN=DIR runs DIR/zk-stats-daemon instead, to compare another build).
"""
import glob
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BENCH_BIN=DIR times another build (its zk-stats-daemon), e.g. a copy of an earlier one.
DAEMON = os.path.join(os.environ.get("BENCH_BIN", os.path.join(ROOT, "target/release")), "zk-stats-daemon")
PORTS = ["--port", "2181", "--quorum-port", "2888", "--election-port", "3888"]
CORES = os.cpu_count() or 1
DAEMON_CORE = str(CORES - 1)


def get(base, path):
    t = time.monotonic()
    with urllib.request.urlopen(base + path, timeout=10) as r:
        body = r.read()
    return body, time.monotonic() - t


def start(args, netns=None):
    """Starts the daemon pinned to one core; returns (process, base URL)."""
    cmd = ["taskset", "-c", DAEMON_CORE, DAEMON, "--http-addr", "127.0.0.1:0", "--no-progress"]
    cmd += args
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        m = re.search(r"serving (http://[^/]+)/", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, m.group(1)
    sys.exit(f"bench-daemon: the daemon did not start: {' '.join(cmd)}")


SCRAPE_LOOP = """
import sys, time, urllib.request
base, stop = sys.argv[1], sys.argv[2]
times = []
while True:
    try:
        open(stop).close()
        break
    except OSError:
        pass
    t = time.monotonic()
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            r.read()
    except OSError:
        break  # the daemon ended (a live run stops at its packet count)
    times.append(time.monotonic() - t)
    time.sleep(0.01)
print(" ".join(map(str, times)))
"""


class Scraper:
    """Scrapes /metrics every 10 ms and times each scrape, from a process of its own (inside
    the daemon's network namespace when it has one: its HTTP port is on that loopback)."""

    def __init__(self, base, netns=None):
        self.stop_file = tempfile.mktemp(prefix="zkwire-scrape-stop.")
        cmd = [sys.executable, "-c", SCRAPE_LOOP, base, self.stop_file]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.times = []

    def finish(self):
        open(self.stop_file, "w").close()
        out, _ = self.proc.communicate()
        os.unlink(self.stop_file)
        self.times = [float(t) for t in out.split()]

    def summary(self):
        if not self.times:
            return "no scrape"
        t = sorted(self.times)
        p99 = t[min(len(t) - 1, int(len(t) * 0.99))]
        return (f"{len(t)} scrapes: median {statistics.median(t) * 1e3:5.2f} ms, "
                f"p99 {p99 * 1e3:5.2f} ms, slowest {t[-1] * 1e3:5.2f} ms")


def replay(capture, scrape):
    began = time.monotonic()
    proc, base = start(["-r", capture] + PORTS)
    scraper = Scraper(base) if scrape else None
    info = {}
    while not info.get("replay_done"):
        time.sleep(0.05 if not scrape else 0.01)
        info = json.loads(get(base, "/json/info")[0])
    took = time.monotonic() - began
    if scraper:
        scraper.finish()
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    rate = info["packets"] / took
    label = "ingest+scrape" if scrape else "ingest"
    scrapes = f"  {scraper.summary()}" if scraper else ""
    print(f"  {label:<14} {info['packets']:>9} packets in {took:6.3f} s = {rate / 1e6:5.2f} M pkt/s"
          f"  RSS {info['memory_rss_bytes'] / 2**20:6.1f} MiB{scrapes}")


def live(capture):
    if os.geteuid() != 0:
        sys.exit("bench-daemon: --live needs root (network namespace, live capture)")
    work = tempfile.mkdtemp(prefix="zkwire-bench-daemon.")
    part = os.path.join(work, "part.pcap")
    subprocess.run(["tcpdump", "-r", capture, "-w", part, "-c", "1000000",
                    "tcp port 2181 or tcp port 2888 or tcp port 3888"],
                   check=True, stderr=subprocess.DEVNULL)
    counted = subprocess.run(["capinfos", "-c", "-M", part], capture_output=True, text=True)
    packets = int(re.search(r"Number of packets:\s*(\d+)", counted.stdout).group(1))
    ns = f"zkwire-bd{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        run = lambda *a: subprocess.run(["ip", "netns", "exec", ns, *a], check=True)
        run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", "rp0", "type", "veth", "peer", "name", "rp1")
        for dev in ("rp0", "rp1"):
            run("ip", "link", "set", dev, "mtu", "65535", "up")
        stats = os.path.join(work, "stats.json")
        proc, base = start(["-i", "rp1", "-B", "262144", "--max-packets", str(packets),
                            "--stats-json", stats] + PORTS, netns=ns)
        # The daemon's own process (under `ip netns exec` and taskset, both exec'd).
        os.kill(proc.pid, signal.SIGSTOP)
        subprocess.run(["ip", "netns", "exec", ns, "tcpreplay", "-i", "rp0", "--preload-pcap",
                        "--topspeed", part], check=True, capture_output=True)
        # The HTTP server runs in the paused process too: scraping starts with the drain.
        began = time.monotonic()
        os.kill(proc.pid, signal.SIGCONT)
        scraper = Scraper(base, netns=ns)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # some were dropped: it never reaches its count
            proc.wait()
        took = time.monotonic() - began
        scraper.finish()
        s = json.load(open(stats))
        cap = s["capture"]
        print(f"  live burst: {cap['packets']} of {packets} packets queued while paused, drained in"
              f" {took:.3f} s = {cap['packets'] / took / 1e6:.2f} M pkt/s on one core;"
              f" kernel drops {cap['kernel_drops']}; {scraper.summary()}")
    finally:
        # Whatever still runs in the namespace (a daemon that never reached its count) ends
        # with it.
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in pids.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns])


def main():
    args = sys.argv[1:]
    want_live = "--live" in args
    captures = [a for a in args if a != "--live"]
    if not captures:
        captures = sorted(glob.glob(os.path.join(ROOT, "target/bench/corpus/*.pcap")))
        captures = captures or [os.path.join(ROOT, "tests/data/zk38-mtu1500.pcap")]
    print(f"zk-stats-daemon pinned to core {DAEMON_CORE} of {CORES}")
    for capture in captures:
        subprocess.run(["cat", capture], stdout=subprocess.DEVNULL)  # from the page cache
        print(f"{capture}:")
        replay(capture, scrape=False)
        replay(capture, scrape=True)
        if want_live:
            live(capture)


main()
