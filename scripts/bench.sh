#!/usr/bin/env bash
# Offline decoding speed and memory, as issue "Performance" defines them: on a large capture
# made from the shipped one, the time of `zk-dump --count-requests 0` and of
# `zab-dump --summary` beside the time of merely reading the records with
# `tcpdump -r FILE -w /dev/null`, their ratio, packets/s, bytes/s, and peak RSS at 1x and 4x the
# file size (flat memory means O(active flows), not O(file)). Then the criterion benchmarks.
# Speed targets live here, never in tests.
#
# usage: scripts/bench.sh [COPIES]   (default 100 copies: about 270 MB, 430k packets)
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-100}
mkdir -p target/bench
cargo build --release --bin zk-dump --bin zab-dump
make_capture() {
  local n=$1 out=$PWD/target/bench/zk38-x$1.pcap
  [ -f "$out" ] || python3 scripts/make-big-capture.py tests/data/zk38-mtu1500.pcap "$n" "$out"
  echo "$out"
}
measure() { # prints "seconds peak_kb" of the best of 3 runs
  local best="" kb=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o /tmp/zkwire-bench.time "$@" > /dev/null 2>&1
    read -r t m < /tmp/zkwire-bench.time
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; kb=$m; fi
  done
  echo "$best $kb"
}
for scale in 1 4; do
  file=$(make_capture $((copies * scale)))
  size=$(stat -c %s "$file")
  cat "$file" > /dev/null # warm the page cache
  read -r base base_kb < <(measure tcpdump -r "$file" -w /dev/null)
  read -r zk zk_kb < <(measure target/release/zk-dump -q --count-requests 0 -r "$file")
  read -r zab zab_kb < <(measure target/release/zab-dump -q --summary --limit 0 -r "$file")
  python3 - "$file" "$size" "$base" "$zk" "$zk_kb" "$zab" "$zab_kb" <<'PY'
import subprocess, sys
f, size, base, zk, zk_kb, zab, zab_kb = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
pkts = int(subprocess.run(["capinfos", "-c", "-M", f], capture_output=True, text=True).stdout.split()[-1]) \
    if subprocess.run(["which", "capinfos"], capture_output=True).returncode == 0 else 0
print(f"{f}: {size/1e6:.0f} MB, {pkts} packets")
print(f"  tcpdump -r -w /dev/null          {base:6.3f} s")
for name, t, kb in (("zk-dump --count-requests 0", zk, zk_kb), ("zab-dump --summary", zab, zab_kb)):
    rate = f"{pkts/t/1e3:8.0f}k pkt/s" if pkts else ""
    print(f"  {name:<31} {t:6.3f} s  ratio {t/base:4.2f}  {size/t/1e6:7.0f} MB/s {rate}  peak RSS {kb/1024:6.1f} MiB")
PY
done
ZKWIRE_BENCH_CAPTURE="$(make_capture "$copies")" cargo bench -p zkwire-capture --bench reassembly -- --noplot
