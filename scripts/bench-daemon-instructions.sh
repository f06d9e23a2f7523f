#!/usr/bin/env bash
# zk-stats-daemon's ingest cost in instructions, counted by callgrind: bench-daemon.py's rates
# move by 15-40% between runs on a shared VM, instruction counts not at all, so a change to the
# daemon's ingest path is judged here first. The daemon replays each capture's first N packets
# (classic pcap, cut with editcap) with client, quorum and election ports, as operators run it;
# once /json/info says the replay is done it is stopped, and its instructions are printed, in
# all and per packet (start-up included: about 2 M).
#
# usage: scripts/bench-daemon-instructions.sh [CAPTURE…]
#   Default: the bench corpus (target/bench/corpus/*.pcap, see record-corpus.sh), else the
#   shipped captures.
#   BENCH_PACKETS=N   packets of each capture (default 100000)
#   BENCH_BIN=DIR     the daemon to count (default: target/release, built first)
#   BENCH_BASE=DIR    also count another build's, to compare (e.g. a copy of an earlier one)
#   BENCH_PROFILE=DIR keep each run's callgrind profile there (callgrind_annotate reads it)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib-instructions.sh
source scripts/lib-instructions.sh
command -v editcap > /dev/null || { echo "$0: apt-get install wireshark-common" >&2; exit 1; }
captures=("$@")
if [ ${#captures[@]} -eq 0 ]; then
  captures=(target/bench/corpus/*.pcap)
  [ -f "${captures[0]}" ] || captures=(tests/data/zk38-mtu1500.pcap)
fi
bin=${BENCH_BIN:-target/release}
[ -n "${BENCH_BIN:-}" ] || cargo build --release --bin zk-stats-daemon
dirs=("$bin")
[ -z "${BENCH_BASE:-}" ] || dirs=("$BENCH_BASE" "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # daemon capture profile ; prints the instructions of its replay
  local log=$work/valgrind.log port
  port=$((20000 + RANDOM % 20000))
  valgrind --tool=callgrind --callgrind-out-file="$3" "$1" -r "$2" --no-progress -q \
    --port 2181 --quorum-port 2888 --election-port 3888 --http-addr "127.0.0.1:$port" \
    > /dev/null 2> "$log" &
  local pid=$! done=
  for _ in $(seq 1 1200); do
    if curl -sf "127.0.0.1:$port/json/info" 2> /dev/null | grep -q '"replay_done":true'; then
      done=1
      break
    fi
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.5
  done
  kill -INT "$pid" 2> /dev/null || true
  wait "$pid" || true
  if [ -n "$done" ]; then collected "$log"; else echo -; fi
}

printf '%-16s %-22s %9s %16s %12s\n' capture daemon packets instructions "per packet"
for file in "${captures[@]}"; do
  editcap -F pcap -r "$file" "$work/cut.pcap" "1-${BENCH_PACKETS:-100000}"
  packets=$(capinfos -c -M "$work/cut.pcap" | sed -n 's/.*packets: *\([0-9]*\).*/\1/p')
  for dir in "${dirs[@]}"; do
    profile=/dev/null
    if [ -n "${BENCH_PROFILE:-}" ]; then
      mkdir -p "$BENCH_PROFILE"
      profile=$BENCH_PROFILE/callgrind.$(basename "$file" .pcap).$(echo "$dir" | tr / _)
    fi
    n=$(count "$dir/zk-stats-daemon" "$work/cut.pcap" "$profile")
    per=-
    [ "$n" = - ] || per=$(python3 -c "print(round($n / $packets))")
    printf '%-16s %-22s %9s %16s %12s\n' "$(basename "$file" .pcap)" "$dir" "$packets" "$n" "$per"
  done
done
