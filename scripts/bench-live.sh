#!/usr/bin/env bash
# Live decoding rate: replays a capture with tcpreplay at increasing packet rates onto one end of
# a veth pair inside a private network namespace, while zk-dump (then zab-dump, then zk-top)
# captures the other end through libpcap, in the modes of the offline benchmark
# (`zk-dump --count-requests 0`, `zab-dump --summary`; zk-top with its plain tables each second,
# and in the drain run also with one interval: its counting alone). For each rate it reports the
# rate tcpreplay achieved, the kernel drops,
# whether every message was decoded (the tool reads as many packets as its filter passes in
# the file, then stops by itself, and must have decoded as many requests / quorum packets as
# it does from the file), and the tool's CPU time per packet, which gives the rate one core
# could sustain. The replaying side, not the decoder, is what limits the paced rates on a small
# machine, so a last run per tool pauses it while the whole file is queued in its kernel ring
# and times how fast it drains the ring: its live decoding rate on one core.
#
# usage: sudo scripts/bench-live.sh [CAPTURE] [RATES...]
#   CAPTURE defaults to the first million packets of target/bench/loadgen.pcap
#   (see scripts/record-big-capture.sh); RATES default to "100000 200000 400000 800000 top".
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-live.sh: needs root (network namespace, live capture)" >&2; exit 1; }
command -v tcpreplay > /dev/null || { echo "bench-live.sh: apt-get install tcpreplay" >&2; exit 1; }
capture=${1:-}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100000 200000 400000 800000 top)
if [ -z "$capture" ]; then
  big=target/bench/loadgen.pcap
  [ -f "$big" ] || { echo "bench-live.sh: no $big: run scripts/record-big-capture.sh $big first, or pass a capture" >&2; exit 1; }
  capture=target/bench/loadgen-1m.pcap
  [ -f "$capture" ] || tcpdump -r "$big" -w "$capture" -c 1000000 2> /dev/null
fi
cargo build --release --bin zk-dump --bin zab-dump --bin zk-top
zk=$PWD/target/release/zk-dump
zab=$PWD/target/release/zab-dump
top=$PWD/target/release/zk-top
work=$(mktemp -d /tmp/zkwire-bench-live.XXXXXX)
ns=zkwire-live$$
cleanup() { ip netns pids "$ns" 2> /dev/null | xargs -r kill -9; ip netns del "$ns" 2> /dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link add rp0 type veth peer name rp1
for dev in rp0 rp1; do ip netns exec "$ns" ip link set "$dev" mtu 65535 up; done

# What each tool's filter passes of the file, decoded offline: each live run is told that many
# packets (--max-packets) and must decode the same messages from them.
expect() { # tool filter... ; prints "packets messages"
  local tool=$1; shift
  tcpdump -r "$capture" -w "$work/part.pcap" "$@" 2> /dev/null
  "$tool" -q --no-progress --stats-json "$work/part.json" --count-requests 0 -r "$work/part.pcap" > /dev/null 2>&1 ||
    "$tool" -q --no-progress --stats-json "$work/part.json" --summary --limit 0 -r "$work/part.pcap" > /dev/null
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); t=s.get("zk") or s.get("zab"); print(s["capture"]["packets"], t.get("requests", t.get("packets")))' "$work/part.json"
}
read -r zk_packets zk_requests < <(expect "$zk" tcp and port 2181)
read -r zab_packets zab_records < <(expect "$zab" tcp and port 2888)
# zk-top (stdout not a terminal: plain tables each second) counts requests without pings.
tcpdump -r "$capture" -w "$work/part.pcap" tcp and port 2181 2> /dev/null
"$top" -q --no-progress --stats-json "$work/part.json" -r "$work/part.pcap" > /dev/null
top_requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["top"]["requests"])' "$work/part.json")
packets=$(capinfos -c -M "$capture" 2> /dev/null | awk '/Number of packets/ {print $NF}')
echo "$capture: $packets packets; port 2181: $zk_packets packets, $zk_requests requests; port 2888: $zab_packets packets, $zab_records quorum packets"

run() { # tool-name rate expected-packets expected-messages command... ; prints one result line
  local name=$1 rate=$2 want_packets=$3 want_messages=$4; shift 4
  local stats=$work/stats.json err=$work/err.log
  rm -f "$stats"
  # A 32 MiB ring: enough for a tool that keeps up, and cheap to set up (the CPU time below
  # includes opening the capture; a 256 MiB ring costs the kernel most of a second to clear).
  ip netns exec "$ns" /usr/bin/time -f "cpu %U %S" -o "$work/time" "$@" -i rp1 -B 32768 --no-progress \
    --max-packets "$want_packets" --stats-json "$stats" > /dev/null 2> "$err" &
  local pid=$!
  until grep -q "listening on" "$err" 2> /dev/null; do sleep 0.05; done
  local speed=--topspeed
  [ "$rate" = top ] || speed=--pps=$rate
  local sent
  sent=$(ip netns exec "$ns" tcpreplay -i rp0 --preload-pcap "$speed" "$capture" 2>&1 | awk '/Rated:/ {print $(NF-1)}')
  # The tool ends by itself after the expected number of packets; if some were dropped it
  # never gets there, so it is interrupted after a grace period and its summary tells.
  local waited=0
  while kill -0 "$pid" 2> /dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -ne 100 ] || pkill -INT -f "stats-json $stats" || true
  done
  wait "$pid" || true
  python3 - "$name" "$rate" "$sent" "$want_messages" "$stats" "$work/time" <<'PY'
import json, sys
name, rate, sent, want, stats, timing = sys.argv[1:]
s = json.load(open(stats))
cap = s["capture"]
tool = s.get("zk") or s.get("zab") or s.get("top")
got = tool.get("requests", tool.get("packets"))
user, system = (float(x) for x in open(timing).read().split()[1:3])
cpu = user + system
per_packet = cpu / cap["packets"] if cap["packets"] else 0
capacity = f"{1 / per_packet / 1e3:5.0f}k pkt/s per core" if per_packet else ""
print(f"  {name:8} target {rate:>7}  sent {float(sent or 0)/1e3:4.0f}k pkt/s  received {cap['packets']:7}"
      f"  kernel drops {cap['kernel_drops']:6}  decoded {got}/{want}{' (all)' if str(got) == want else ''}"
      f"  decode errors {tool['decode_errors']}  cpu {cpu:5.2f} s = {per_packet*1e9:4.0f} ns/pkt ({capacity})")
PY
}
burst() { # tool-name expected-packets expected-messages command... ; prints one result line
  # The sender, not the decoder, limits the paced runs on a small machine. Here the tool is
  # paused (SIGSTOP) while the whole file is replayed into its kernel ring, then resumed: how
  # fast it drains the ring is its live decoding rate on one core.
  local name=$1 want_packets=$2 want_messages=$3; shift 3
  local stats=$work/stats.json err=$work/err.log
  rm -f "$stats"
  ip netns exec "$ns" "$@" -i rp1 -B 262144 --no-progress --max-packets "$want_packets" \
    --stats-json "$stats" > /dev/null 2> "$err" &
  until grep -q "listening on" "$err" 2> /dev/null; do sleep 0.05; done
  local pid
  pid=$(pgrep -f -- "--stats-json $stats" | tail -1)
  kill -STOP "$pid"
  ip netns exec "$ns" tcpreplay -i rp0 --preload-pcap --topspeed "$capture" > /dev/null 2>&1
  local start end
  start=$(date +%s.%N)
  kill -CONT "$pid"
  # A ring too small for the whole file drops packets, and the tool then never reaches its
  # count: it is interrupted after a grace period and its summary shows the drops.
  local waited=0
  while kill -0 "$pid" 2> /dev/null; do
    sleep 0.005
    waited=$((waited + 1))
    [ $waited -ne 2000 ] || kill -INT "$pid" 2> /dev/null || true
  done
  end=$(date +%s.%N)
  wait || true
  python3 - "$name" "$want_messages" "$stats" "$start" "$end" <<'PY'
import json, sys
name, want, stats, start, end = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
s = json.load(open(stats))
cap = s["capture"]
tool = s.get("zk") or s.get("zab") or s.get("top")
got = tool.get("requests", tool.get("packets"))
took = end - start
print(f"  {name:8} burst: {cap['packets']} packets queued while paused, drained in {took:.3f} s ="
      f" {cap['packets'] / took / 1e3:.0f}k pkt/s on one core; kernel drops {cap['kernel_drops']},"
      f" decoded {got}/{want}{' (all)' if str(got) == want else ''}, decode errors {tool['decode_errors']}")
PY
}
for rate in "${rates[@]}"; do
  run zk-dump "$rate" "$zk_packets" "$zk_requests" "$zk" -q --count-requests 0
done
for rate in "${rates[@]}"; do
  run zab-dump "$rate" "$zab_packets" "$zab_records" "$zab" -q --summary --limit 0
done
for rate in "${rates[@]}"; do
  run zk-top "$rate" "$zk_packets" "$top_requests" "$top" -q
done
burst zk-dump "$zk_packets" "$zk_requests" "$zk" -q --count-requests 0
burst zk-top "$zk_packets" "$top_requests" "$top" -q
# zk-top's counting alone (one interval: the plain tables once, at the end). On a terminal it
# draws one pane's table a second, not every pane's in full as the plain tables above do.
burst zk-top/1h "$zk_packets" "$top_requests" "$top" -q --interval 3600
burst zab-dump "$zab_packets" "$zab_records" "$zab" -q --summary --limit 0
