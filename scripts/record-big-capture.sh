#!/usr/bin/env bash
# Record a large real capture for benchmarks: a 3-server ZooKeeper ensemble (Debian's `zookeeper`
# 3.8) inside a private network namespace whose loopback has a 1500-byte MTU, driven by several
# `load_gen` clients (Debian's `zookeeper-bin`, the C client's bulk create/read/delete loop) for
# SECONDS seconds, captured with `tcpdump -i lo -s 0` on the client, quorum and election ports from
# before the servers start. Halfway through, the leader is killed and restarted, so the file also
# holds an election and a DIFF/SNAP sync. A few minutes give some GB.
#
# Method after ../shared/corpus/zk38-recipe/make_capture.sh (LOADGEN mode), rewritten for this
# repository. Needs root, iproute2, tcpdump, zookeeper, zookeeper-bin, python3.
#
# usage: sudo scripts/record-big-capture.sh OUT.pcap [SECONDS=180] [CLIENTS=4]
#   WORKLOAD=SHAPE drives the ensemble with scripts/corpus-workload.py SHAPE (reads, large,
#   watches, churn) instead of load_gen; scripts/record-corpus.sh records every shape.
set -euo pipefail
out=$(readlink -f "${1:?usage: record-big-capture.sh OUT.pcap [SECONDS] [CLIENTS]}")
seconds=${2:-180}
clients=${3:-4}
[ "$(id -u)" = 0 ] || { echo "record-big-capture.sh: needs root (network namespace, tcpdump)" >&2; exit 1; }
ns=zkwire-rec$$
work=$(mktemp -d /tmp/zkwire-record.XXXXXX)
classpath="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
load_gen=/usr/lib/zookeeper/bin/load_gen
hosts=127.0.0.1:2181,127.0.0.2:2181,127.0.0.3:2181

cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns"
in_ns ip link set lo up
in_ns ip link set lo mtu 1500 # segments the size of Ethernet's, not loopback's 64 KiB

for i in 1 2 3; do
  mkdir -p "$work/s$i/data"
  echo "$i" > "$work/s$i/data/myid"
  cat > "$work/s$i/zoo.cfg" <<CFG
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$work/s$i/data
clientPortAddress=127.0.0.$i
clientPort=2181
admin.enableServer=false
4lw.commands.whitelist=*
snapCount=200000
autopurge.purgeInterval=1
maxClientCnxns=0
server.1=127.0.0.1:2888:3888
server.2=127.0.0.2:2888:3888
server.3=127.0.0.3:2888:3888
CFG
done

in_ns tcpdump -i lo -s 0 -B 65536 -U -w "$out" 'tcp port 2181 or tcp port 2888 or tcp port 3888' \
  2> "$work/tcpdump.log" &
tcpdump_pid=$!
# tcpdump prints "listening on" once its socket is open: wait for that, not for a fixed time
until grep -q listening "$work/tcpdump.log" 2>/dev/null; do sleep 0.1; done

start_server() {
  in_ns java -Xmx1g -cp "$classpath" -Dzookeeper.log.dir="$work/s$1" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$work/s$1/zoo.cfg" > "$work/s$1/out.log" 2>&1 &
}
mode() { # the server's mode from the `srvr` four-letter word, or "down"
  in_ns python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection((f"127.0.0.{sys.argv[1]}", 2181), timeout=2)
    s.sendall(b"srvr")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    print([l.split(": ")[1] for l in data.decode().splitlines() if l.startswith("Mode")][0])
except Exception:
    print("down")
PY
}
leader() {
  for _ in $(seq 120); do
    for i in 1 2 3; do [ "$(mode $i)" = leader ] && { echo "$i"; return; }; done
    sleep 0.5
  done
  echo "record-big-capture.sh: no leader after 60 s" >&2; exit 1
}
for i in 1 2 3; do start_server $i; done
first=$(leader)
echo "leader: server $first"

workload=${WORKLOAD:-}
shape_script=$(dirname "$(readlink -f "$0")")/corpus-workload.py
load() { # CLIENTS load_gen processes, each on its own subtree, for $1 seconds (or the shape)
  if [ -n "$workload" ]; then
    in_ns /usr/bin/python3 "$shape_script" "$workload" "$hosts" "$1" >> "$work/load_gen.log" 2>&1 || {
      echo "record-big-capture.sh: the $workload workload failed:" >&2
      tail -5 "$work/load_gen.log" >&2
      exit 1
    }
    return
  fi
  local pids=()
  for c in $(seq "$clients"); do
    in_ns timeout "$1" "$load_gen" "$hosts" "/load$c" 1000 >> "$work/load_gen.log" 2>&1 & pids+=($!)
  done
  wait "${pids[@]}" || true
}
half=$((seconds / 2))
load "$half"
echo "killing leader (server $first) and restarting it"
pkill -9 -f "$work/s$first/zoo.cfg" # `ip netns exec` may fork: kill the java itself
leader > /dev/null
start_server "$first"
load "$((seconds - half))"
for i in 1 2 3; do echo "server $i: $(mode $i)"; done

pkill -f "$work/s./zoo.cfg" || true
sleep 1 # the servers' last FINs
kill -TERM "$tcpdump_pid" # not SIGINT: background jobs of a script ignore it
wait "$tcpdump_pid" || true
grep -E "packets (captured|dropped)" "$work/tcpdump.log" || true
ls -l "$out"
