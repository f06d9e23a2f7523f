#!/usr/bin/env python3
"""Soak zk-stats-daemon: replay a capture many times and watch it from outside.

usage: scripts/soak.py [CAPTURE] [REPLAYS]   (defaults: tests/data/zk38-mtu1500.pcap, 1000)

Starts the release daemon replaying CAPTURE REPLAYS times as fast as it can (--repeat), and
while it runs scrapes /metrics and /json/info every 10 ms. Reports, at 1x, 10x and 100x the
traffic and at the end, the resident memory, the number of series, and the
scrape latency; and checks that no counter ever went down between two scrapes (no resets) and
that the label sets stay capped. Exits 1 if a counter went down.

Build first: cargo build --release -p zkwire
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def get(base, path):
    t = time.monotonic()
    with urllib.request.urlopen(base + path, timeout=5) as r:
        body = r.read().decode()
    return body, time.monotonic() - t


def records(path):
    """Packets in a classic pcap file (the replay unit)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos, n = 24, 0
    while pos + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        pos += 16 + caplen
        n += 1
    return n


def counters(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        if name.endswith("_total") or "_total{" in name:
            out[name] = float(value)
    return out


def main():
    capture = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests/data/zk38-mtu1500.pcap")
    replays = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    daemon = os.path.join(ROOT, "target/release/zk-stats-daemon")
    proc = subprocess.Popen(
        [daemon, "-r", capture, "--repeat", str(replays), "--http-addr", "127.0.0.1:0",
         "--port", "2181", "--quorum-port", "2888"],
        stderr=subprocess.PIPE, text=True)
    base = None
    for line in proc.stderr:
        m = re.search(r"serving (http://[^/]+)/", line)
        if m:
            base = m.group(1)
            break
    if base is None:
        sys.exit("the daemon did not start")
    once = records(capture)
    marks = sorted({1, 10, 100, 1000, replays} & set(range(1, replays + 1)))
    seen, previous, resets, worst = {}, {}, 0, 0.0
    while True:
        info = json.loads(get(base, "/json/info")[0])
        text, took = get(base, "/metrics")
        worst = max(worst, took)
        now = counters(text)
        for name, value in now.items():
            if value < previous.get(name, 0):
                resets += 1
                print(f"counter went down: {name} {previous[name]} -> {value}")
        previous.update(now)
        done = info.get("replay_done")
        packets = info["packets"]
        for mark in marks:
            if mark not in seen and (done or packets >= once * mark):
                seen[mark] = (info["memory_rss_bytes"], len(now), took)
        if done:
            break
        time.sleep(0.01)
    per_replay = once
    proc.terminate()
    proc.wait()
    print(f"{replays} replays of {capture} ({per_replay} packets each)")
    print(f"{'traffic':>8} {'RSS MiB':>8} {'series':>7} {'scrape ms':>10}")
    for mark in marks:
        rss, series, took = seen.get(mark, (0, 0, 0.0))
        print(f"{mark:>7}x {rss / 2**20:>8.1f} {series:>7} {took * 1e3:>10.1f}")
    print(f"slowest scrape {worst * 1e3:.1f} ms; counters that went down: {resets}")
    sys.exit(1 if resets else 0)


main()
