#!/usr/bin/env bash
# The cost of each printed line in instructions, counted by callgrind: times on a shared VM
# move by a third between runs, instruction counts not at all, so a change to the printing
# path is judged here first. Each capture's first N packets (classic pcap, cut with editcap),
# each printing mode of zk-dump and zab-dump: instructions, lines, instructions per line.
#
# usage: scripts/bench-print.sh [CAPTURE…]
#   Default: the bench corpus (target/bench/corpus/*.pcap, see record-corpus.sh), else the
#   shipped captures. Quorum ports 2888–2890, as the 3.8 recipes use them.
#   BENCH_PACKETS=N   packets of each capture (default 200000)
#   BENCH_BIN=DIR     the binaries to count (default: target/release, built first)
#   BENCH_BASE=DIR    also count another build's, to compare (e.g. a worktree's target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib-instructions.sh
source scripts/lib-instructions.sh
command -v editcap > /dev/null || { echo "bench-print.sh: apt-get install wireshark-common" >&2; exit 1; }
captures=("$@")
if [ ${#captures[@]} -eq 0 ]; then
  captures=(target/bench/corpus/*.pcap)
  [ -f "${captures[0]}" ] || captures=(tests/data/zk38-mtu1500.pcap tests/data/zk380-A.pcap)
fi
bin=${BENCH_BIN:-target/release}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin zk-dump --bin zab-dump
dirs=("$bin")
[ -z "${BENCH_BASE:-}" ] || dirs=("$BENCH_BASE" "$bin")
cut=$(mktemp --suffix .pcap)
trap 'rm -f "$cut"' EXIT
zab_ports="--port 2888 --port 2889 --port 2890"

printf '%-16s %-22s %-24s %14s %9s %9s\n' capture binaries mode instructions lines "per line"
for file in "${captures[@]}"; do
  editcap -F pcap -r "$file" "$cut" "1-${BENCH_PACKETS:-200000}"
  for dir in "${dirs[@]}"; do
    runs=(
      "zk-dump (paired text)|$dir/zk-dump"
      "zk-dump --unpaired|$dir/zk-dump --unpaired"
      "zk-dump --format json|$dir/zk-dump --format json"
      "zab-dump|$dir/zab-dump $zab_ports"
      "zab-dump --format json|$dir/zab-dump $zab_ports --format json"
    )
    for run in "${runs[@]}"; do
      name=${run%%|*}
      # shellcheck disable=SC2086 # the command line is split on purpose
      set -- ${run#*|} -q --no-progress -r "$cut"
      lines=$("$@" | wc -l)
      n=$(instructions "$@")
      per=-
      [ "$n" = - ] || [ "$lines" = 0 ] || per=$(python3 -c "print(round($n / $lines))")
      printf '%-16s %-22s %-24s %14s %9s %9s\n' "$(basename "$file" .pcap)" "$dir" "$name" "$n" "$lines" "$per"
    done
  done
done
