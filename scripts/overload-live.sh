#!/usr/bin/env bash
# Overload, live: more packets than the tool can take. A capture (by default 100 copies of the
# shipped one, each on its own addresses) is replayed with tcpreplay (50,000 packets/s) onto a
# veth pair in a private network namespace while the tool captures the other end with a small
# kernel ring (1 MiB); in the middle of the replay the tool is paused (SIGSTOP) for 1.5 s, then
# resumed while the traffic goes on. The kernel drops what the ring cannot hold. Reported per tool: kernel drops (in its summary and --stats-json), what it still
# decoded, the gaps and resynchronisations the drops became, and its decode errors, which must
# stay 0: a drop is a loss, never garbage.
#
# usage: sudo scripts/overload-live.sh [CAPTURE]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "overload-live.sh: needs root (network namespace, live capture)" >&2; exit 1; }
command -v tcpreplay > /dev/null || { echo "overload-live.sh: apt-get install tcpreplay" >&2; exit 1; }
cargo build --release --bin zk-dump --bin zab-dump --bin fle-dump
work=$(mktemp -d /tmp/zkwire-overload.XXXXXX)
ns=zkwire-over$$
cleanup() { ip netns pids "$ns" 2> /dev/null | xargs -r kill -9; ip netns del "$ns" 2> /dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
capture=${1:-}
if [ -z "$capture" ]; then
  capture=$work/big.pcap
  python3 scripts/make-big-capture.py tests/data/zk38-mtu1500.pcap 100 "$capture" > /dev/null
fi
ip netns add "$ns"
ip netns exec "$ns" ip link add rp0 type veth peer name rp1
for dev in rp0 rp1; do ip netns exec "$ns" ip link set "$dev" mtu 65535 up; done
echo "$capture: $(capinfos -c -M "$capture" 2> /dev/null | awk '/Number of packets/ {print $NF}') packets"

overload() { # name tool args...
  local name=$1; shift
  local stats=$work/$name.json err=$work/$name.err
  ip netns exec "$ns" "$@" -i rp1 -B 1024 --no-progress --stats-json "$stats" > /dev/null 2> "$err" &
  until grep -q "listening on" "$err" 2> /dev/null; do sleep 0.05; done
  local pid
  pid=$(pgrep -f -- "--stats-json $stats" | tail -1)
  ip netns exec "$ns" tcpreplay -i rp0 --preload-pcap --pps=50000 "$capture" > /dev/null 2>&1 &
  local replay=$!
  sleep 3
  kill -STOP "$pid"
  sleep 1.5
  kill -CONT "$pid"
  wait "$replay" || true
  sleep 1
  kill -INT "$pid"
  wait || true
  python3 - "$name" "$stats" <<'PY'
import json, sys
name, stats = sys.argv[1:]
s = json.load(open(stats))
c = s["capture"]
t = s.get("zk") or s.get("zab") or s.get("fle")
decoded = t.get("messages", t.get("packets", t.get("notifications")))
print(f"  {name:8} received {c['packets']:7}  kernel drops {c['kernel_drops']:7}  decoded {decoded}"
      f"  gaps {c['gaps']}  resyncs {t.get('resyncs', 0)}  decode errors {t['decode_errors']}")
sys.exit(1 if t["decode_errors"] else 0)
PY
}
overload zk-dump target/release/zk-dump -q --port 2181
overload zab-dump target/release/zab-dump -q --port 2888 --port 2889 --port 2890 --summary --limit 0
overload fle-dump target/release/fle-dump -q --port 3888 --summary --limit 0
