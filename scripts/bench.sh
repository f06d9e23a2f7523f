#!/usr/bin/env bash
# Offline decoding speed: zk-dump end to end versus merely reading the capture, on a large
# capture made from the shipped one (COPIES copies, default 100: about 270 MB, 430k packets).
# Prints wall times and throughput; uses hyperfine when installed. Speed targets live here
# and in `cargo bench -p zkwire-capture`, never in tests.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-100}
big=$PWD/target/bench/zk38-x${copies}.pcap
mkdir -p target/bench
cargo build --release --bin zk-dump
[ -f "$big" ] || python3 scripts/make-big-capture.py tests/data/zk38-mtu1500.pcap "$copies" "$big"
size=$(stat -c %s "$big")
echo "capture: $big, $((size / 1000000)) MB"
run() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; t=$end-$start; print(f'{sys.argv[1]:<34} {t:7.3f} s  {$size/t/1e6:8.1f} MB/s')" "$name"
}
cat "$big" > /dev/null # warm the page cache
if command -v hyperfine > /dev/null; then
  hyperfine --warmup 1 \
    "cat $big" \
    "tcpdump -r $big -w /dev/null" \
    "target/release/zk-dump -q -r $big --format json" \
    "target/release/zk-dump -q -r $big"
else
  run "read the file (cat)" cat "$big"
  if command -v tcpdump > /dev/null; then
    run "read the records (tcpdump -r -w)" tcpdump -r "$big" -w /dev/null
  fi
  run "zk-dump --format json" target/release/zk-dump -q -r "$big" --format json
  run "zk-dump (text)" target/release/zk-dump -q -r "$big"
  run "zk-dump (decode, nothing printed)" target/release/zk-dump -q -r "$big" --path-prefix /nothing-matches
fi
target/release/zk-dump -r "$big" --format json > /dev/null
ZKWIRE_BENCH_CAPTURE="$big" cargo bench -p zkwire-capture --bench reassembly -- --noplot
