#!/usr/bin/env bash
# zk-top's cost per packet, counted in instructions by callgrind (the same count on every run,
# whatever else the machine is doing), beside `zk-dump --count-requests 0` on the same capture:
# zk-top with one interval for the whole file (the cost of counting each message) and with the
# plain tables printed every second of capture time (what a pipe gets), with and without the
# quorum port traced (the Writes pane). Run it on captures the code was not tuned on.
#
# usage: scripts/bench-top.sh [CAPTURE[:CLIENT_PORTS[:QUORUM_PORTS]]]...   (ports: 2181,2182)
#   Default: 20 copies of each shipped capture (zk38-mtu1500 on 2181 and 2888; zk380-A on
#   22181-22184 and 22881-22884). A build without an option (an old zk-top has no
#   --quorum-port) shows "-" for that run.
#   BENCH_BIN=DIR     the binaries to count (default: target/release, built first)
#   BENCH_BASE=DIR    also count another build's, to compare (e.g. a worktree's target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib-instructions.sh
source scripts/lib-instructions.sh
mkdir -p target/bench
captures=("$@")
if [ ${#captures[@]} -eq 0 ]; then
  for c in zk38-mtu1500 zk380-A; do
    [ -f "target/bench/$c-x20.pcap" ] ||
      python3 scripts/make-big-capture.py "tests/data/$c.pcap" 20 "target/bench/$c-x20.pcap"
  done
  captures=(target/bench/zk38-mtu1500-x20.pcap:2181:2888
    target/bench/zk380-A-x20.pcap:22181,22182,22183,22184:22881,22882,22883,22884)
fi
bin=${BENCH_BIN:-target/release}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin zk-dump --bin zk-top
dirs=("$bin")
[ -z "${BENCH_BASE:-}" ] || dirs=("$BENCH_BASE" "$bin")

printf '%-40s %-26s %-34s %14s %10s\n' capture binaries run instructions "per packet"
for spec in "${captures[@]}"; do
  file=${spec%%:*}
  IFS=: read -r _ client_list quorum_list <<< "$spec"
  ports=()
  quorum=()
  IFS=, read -r -a list <<< "${client_list:-}"
  for p in "${list[@]}"; do ports+=(--port "$p"); done
  IFS=, read -r -a list <<< "${quorum_list:-2888}"
  for p in "${list[@]}"; do quorum+=(--quorum-port "$p"); done
  packets=$(capinfos -c -M "$file" 2> /dev/null | awk '/Number of packets/ {print $NF}')
  for dir in "${dirs[@]}"; do
    runs=(
      "zk-dump --count-requests 0|$dir/zk-dump -q --no-progress -r $file ${ports[*]} --count-requests 0"
      "zk-top, one interval|$dir/zk-top -q -r $file ${ports[*]} --interval 1000000"
      "zk-top, tables every second|$dir/zk-top -q -r $file ${ports[*]} --interval 1"
      "zk-top --quorum-port, one interval|$dir/zk-top -q -r $file ${ports[*]} ${quorum[*]} --interval 1000000"
    )
    for run in "${runs[@]}"; do
      name=${run%%|*}
      # shellcheck disable=SC2086 # the command line is split on purpose
      n=$(instructions ${run#*|})
      per=-
      [ "$n" = - ] || per=$(python3 -c "print(round($n / $packets))")
      printf '%-40s %-26s %-34s %14s %10s\n' "$(basename "$file")" "$dir" "$name" "$n" "$per"
    done
  done
done
