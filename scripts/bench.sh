#!/usr/bin/env bash
# Offline decoding speed and memory, as the "Performance" issue defines them: on each capture,
# the time of every analysis mode (`zk-dump --count-requests 0` and `--measure-latency 0`, on one
# thread and with every core; `zab-dump --summary`, `fle-dump --summary`) beside the time of
# merely reading the records with `tcpdump -r FILE -w /dev/null`, their ratio, packets/s,
# bytes/s and peak RSS, and on a 4x copy of the first (flat memory: O(active flows), not
# O(file)). Then the cost per printed line of every printing mode beside `tcpdump -nn -r`, and
# the criterion benchmarks of every layer. Speed targets live here, never in tests.
#
# usage: scripts/bench.sh [CAPTURE...]
#   CAPTURE defaults to target/bench/loadgen.pcap: record it once with
#   `sudo scripts/record-big-capture.sh target/bench/loadgen.pcap` (3 minutes of load_gen on a
#   real 3.8 ensemble, about 1 GB and 5 million packets), or the whole varied corpus with
#   `sudo scripts/record-corpus.sh` and then `scripts/bench.sh target/bench/corpus/*.pcap`.
#   Without it, 100 copies of the shipped capture stand in. Every capture gets the offline
#   table and the per-line costs; the first one also a 4x copy (scripts/make-big-capture.py),
#   for flat memory. BENCH_CRITERION=0 skips the criterion benchmarks, BENCH_ANALYSIS=0 the
#   analysis table (the per-line costs only); BENCH_BIN=DIR times the binaries in DIR (another
#   build, to compare) instead of building target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/bench
captures=("$@")
[ ${#captures[@]} -gt 0 ] || captures=(target/bench/loadgen.pcap)
capture=${captures[0]}
if [ ! -f "$capture" ]; then
  echo "bench.sh: $capture is missing (sudo scripts/record-big-capture.sh $capture records one);" \
    "using 100 copies of tests/data/zk38-mtu1500.pcap instead" >&2
  capture=target/bench/zk38-x100.pcap
  [ -f "$capture" ] || python3 scripts/make-big-capture.py tests/data/zk38-mtu1500.pcap 100 "$capture"
  captures=("$capture")
fi
x4=target/bench/$(basename "$capture" .pcap)-x4.pcap
[ "$x4" -nt "$capture" ] || python3 scripts/make-big-capture.py "$capture" 4 "$x4"
bin=${BENCH_BIN:-target/release}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin zk-dump --bin zab-dump --bin fle-dump

measure() { # prints "seconds peak_kb" of the best of 3 runs (wall time to the nanosecond;
  # /usr/bin/time's own clock counts in 10 ms steps, so it only gives the peak RSS)
  local best="" kb=""
  for _ in 1 2 3; do
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o /tmp/zkwire-bench.time "$@" > /dev/null 2>&1
    end=$(date +%s%N)
    local t m
    t=$(python3 -c "print(($end - $start) / 1e9)")
    read -r m < /tmp/zkwire-bench.time
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; kb=$m; fi
  done
  echo "$best $kb"
}
# The analysis modes, each on one thread and (zk-dump's count and latency, which shard by
# connection) with one shard per core, each reading the file itself: --threads N.
cores=$(nproc)
analysed=("${captures[@]}" "$x4")
[ "${BENCH_ANALYSIS:-1}" != 0 ] || analysed=()
for file in "${analysed[@]}"; do
  size=$(stat -c %s "$file")
  cat "$file" > /dev/null # from the page cache, like the runs that follow
  "$bin"/zk-dump -q --no-progress --count-requests 0 --stats-json /tmp/zkwire-bench.json -r "$file" > /dev/null
  packets=$(python3 -c 'import json; print(json.load(open("/tmp/zkwire-bench.json"))["capture"]["packets"])')
  rows=()
  row() { # label threads command...
    local label=$1 threads=$2
    shift 2
    local t kb
    read -r t kb < <(measure "$@")
    rows+=("$label|$threads|$t|$kb")
  }
  row "tcpdump -r FILE -w /dev/null" 1 tcpdump -r "$file" -w /dev/null
  for threads in 1 "$cores"; do
    row "zk-dump --count-requests 0" "$threads" "$bin"/zk-dump -q --no-progress --count-requests 0 --threads "$threads" -r "$file"
    row "zk-dump --measure-latency 0" "$threads" "$bin"/zk-dump -q --no-progress --measure-latency 0 --threads "$threads" -r "$file"
  done
  row "zab-dump --summary" 1 "$bin"/zab-dump -q --no-progress --summary --limit 0 -r "$file"
  row "fle-dump --summary" 1 "$bin"/fle-dump -q --no-progress --summary --limit 0 -r "$file"
  python3 - "$file" "$size" "$packets" "${rows[@]}" <<'PY'
import sys
f, size, pkts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [r.split("|") for r in sys.argv[4:]]
base = float(rows[0][2])
print(f"{f}: {size/1e6:.0f} MB, {pkts} packets")
for name, threads, t, kb in rows:
    t, kb = float(t), float(kb)
    label = name if name.startswith("tcpdump") else f"{name} ({'1 thread' if threads == '1' else threads + ' shards'})"
    ratio = "" if name.startswith("tcpdump") else f"ratio {t/base:4.2f}"
    rate = f"{pkts/t/1e6:5.2f} M pkt/s" if pkts else ""
    print(f"  {label:<42} {t:6.3f} s  {ratio:10}  {size/t/1e6:6.0f} MB/s  {rate}  peak RSS {kb/1024:6.1f} MiB")
PY
done
# Printing: the cost of each printed line (best of 3, output to /dev/null), beside the cost of a
# line of `tcpdump -nn -r`. Quorum and election ports as the 3.8 recipes use them.
zab_ports=(--port 2888 --port 2889 --port 2890)
fle_ports=(--port 3888 --port 3889 --port 3890)
per_line() { # label command...
  local label=$1
  shift
  local lines t kb
  lines=$("$@" 2>/dev/null | wc -l)
  read -r t kb < <(measure "$@")
  python3 -c "import sys; l, t = int(sys.argv[2]), float(sys.argv[3]); print(f'  {sys.argv[1]:<26} {t:6.3f} s  {l:9d} lines  {t / max(l, 1) * 1e6:5.2f} us/line')" "$label" "$lines" "$t"
}
for capture in "${captures[@]}"; do
  echo "printing, per line, on $capture:"
  per_line "tcpdump -nn -r" tcpdump -nn -r "$capture"
  per_line "zk-dump (paired text)" "$bin"/zk-dump -q --no-progress -r "$capture"
  per_line "zk-dump --unpaired" "$bin"/zk-dump -q --no-progress --unpaired -r "$capture"
  per_line "zk-dump --format json" "$bin"/zk-dump -q --no-progress --format json -r "$capture"
  per_line "zab-dump" "$bin"/zab-dump -q --no-progress "${zab_ports[@]}" -r "$capture"
  per_line "zab-dump --format json" "$bin"/zab-dump -q --no-progress "${zab_ports[@]}" --format json -r "$capture"
  per_line "fle-dump" "$bin"/fle-dump -q --no-progress "${fle_ports[@]}" -r "$capture"
  per_line "fle-dump --format json" "$bin"/fle-dump -q --no-progress "${fle_ports[@]}" --format json -r "$capture"
done
if [ "${BENCH_CRITERION:-1}" != 0 ]; then
  # On the shipped capture, so numbers compare across machines and commits.
  cargo bench --workspace --bench '*' -- --noplot
fi
