#!/usr/bin/env bash
# Does memory stay flat as the capture grows? Peak RSS (speed is bench.sh's: these copies may
# be read from disk the first time) of zk-dump's analysis modes on 1, 4 and
# 10 copies of a capture (scripts/make-big-capture.py: each copy on its own addresses and time,
# so ten copies are ten times the connections, requests and samples of one), on one thread.
# A mode that keeps something per message, or per sample, shows it here: `--measure-latency`
# took 805 MB on ten copies of the `loadgen` corpus capture while its groups kept their samples.
#
# usage: scripts/bench-memory.sh [CAPTURE [COPIES...]]
#   CAPTURE defaults to target/bench/corpus/loadgen.pcap (sudo scripts/record-corpus.sh), else
#   the shipped capture; COPIES to 1 4 10. The copies are written to target/bench/ (10 copies of
#   `loadgen` are 1.5 GB). BENCH_BIN=DIR measures the binaries in DIR instead of target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
capture=${1:-target/bench/corpus/loadgen.pcap}
[ -f "$capture" ] || capture=tests/data/zk38-mtu1500.pcap
shift || true
copies=("$@")
[ ${#copies[@]} -gt 0 ] || copies=(1 4 10)
bin=${BENCH_BIN:-target/release}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin zk-dump
mkdir -p target/bench
echo "peak RSS of zk-dump --threads 1 on copies of $capture"
printf '  %-7s %-12s %-26s %-26s\n' copies size "--count-requests 0" "--measure-latency 0"
for n in "${copies[@]}"; do
  file=$capture
  if [ "$n" != 1 ]; then
    file=target/bench/$(basename "$capture" .pcap)-x$n.pcap
    [ "$file" -nt "$capture" ] || python3 scripts/make-big-capture.py "$capture" "$n" "$file"
  fi
  row=()
  for mode in --count-requests --measure-latency; do
    /usr/bin/time -f '%M' -o /tmp/zkwire-memory.time \
      "$bin"/zk-dump -q --no-progress --threads 1 "$mode" 0 -r "$file" > /dev/null
    read -r kb < /tmp/zkwire-memory.time
    row+=("$(python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:6.1f} MiB')" "$kb")")
  done
  printf '  %-7s %-12s %-26s %-26s\n' "${n}x" "$(du -h "$file" | cut -f1)" "${row[0]}" "${row[1]}"
done
