#!/usr/bin/env bash
# Runs every tool in every output and analysis mode over the captures in tests/data and writes
# one file per (capture, tool, mode) into OUT_DIR, so the output of two builds can be compared
# byte for byte:
#
#   scripts/golden.sh target/release /tmp/golden-new
#   scripts/golden.sh /work/base/target/release /tmp/golden-old
#   diff -r /tmp/golden-old /tmp/golden-new
#
# zk-stats-daemon replays each capture and its JSON endpoints (keys sorted: their order is not
# part of the contract) and /metrics (without the process and uptime lines) are saved.
set -euo pipefail
bin=${1:?usage: golden.sh BIN_DIR OUT_DIR}
out=${2:?usage: golden.sh BIN_DIR OUT_DIR}
cd "$(dirname "$0")/.."
data=tests/data
mkdir -p "$out"
common=(--utc --no-progress -q --color never)

zk_modes=(
  "text|"
  "unpaired|--unpaired"
  "json|--format json"
  "pings|--include-pings --format json"
  "secrets|--show-secrets --format json"
  "secrets-text|--show-secrets"
  "prefix|--path-prefix /corpus/n0"
  "prefix-p|--path-prefix /p --format json"
  "count-type|--count-requests 0 --group-by type"
  "count-path|--count-requests 0 --group-by path --aggregation-depth 2"
  "count-client|--count-requests 0 --group-by client --format json"
  "latency|--measure-latency 0 --group-by type"
  "latency-json|--measure-latency 0 --group-by path --format json"
  "watches|--top-watches"
  "watches-json|--top-watches --format json"
  "sessions|--sessions"
  "sessions-json|--sessions --format json"
  "errors|--errors"
  "errors-json|--errors --format json"
  "large|--large 200"
  "large-json|--large 200 --format json"
  "interval|--count-requests 0 --interval 1"
)
zab_modes=("text|" "json|--format json" "pings|--include-pings" "summary|--summary" "summary-json|--summary --format json")
fle_modes=("text|" "json|--format json" "summary|--summary" "summary-json|--summary --format json")

run_modes() { # capture tool ports-args modes...
  local cap=$1 tool=$2 ports=$3
  shift 3
  local name
  name=$(basename "$cap" .pcap)
  for m in "$@"; do
    local label=${m%%|*} args=${m#*|}
    # shellcheck disable=SC2086
    "$bin/$tool" -r "$cap" $ports $args "${common[@]}" >"$out/$name.$tool.$label" 2>&1 || echo "exit $?" >>"$out/$name.$tool.$label"
  done
}

daemon() { # capture ports-args
  local cap=$1 ports=$2 name port=17391
  name=$(basename "$cap" .pcap)
  # shellcheck disable=SC2086
  "$bin/zk-stats-daemon" -r "$cap" $ports --http-addr 127.0.0.1:$port --no-progress -q &
  local pid=$!
  for _ in $(seq 200); do
    if curl -sf "127.0.0.1:$port/json/info" 2>/dev/null | grep -q '"replay_done":true'; then break; fi
    sleep 0.05
  done
  for ep in paths ips auths auths-dump; do
    curl -sf "127.0.0.1:$port/json/$ep" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, indent=0))' >"$out/$name.daemon.$ep"
  done
  curl -sf "127.0.0.1:$port/metrics" | grep -v -E '^(# (HELP|TYPE) )?(process_|zkwire_uptime|zkwire_memory|zkwire_build)' | sort >"$out/$name.daemon.metrics"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

zk38_zk="--port 2181"
zk38_zab="--port 2888 --port 2889 --port 2890"
zk38_fle="--port 3888 --port 3889 --port 3890"
zk380_zk="--port 22181 --port 22182 --port 22183 --port 22184"
zk380_zab="--port 22881 --port 22882 --port 22883 --port 22884"
zk380_fle="--port 23881 --port 23882 --port 23883 --port 23884"

run_modes $data/zk38-mtu1500.pcap zk-dump "$zk38_zk" "${zk_modes[@]}"
run_modes $data/zk38-mtu1500.pcap zab-dump "$zk38_zab" "${zab_modes[@]}"
run_modes $data/zk38-mtu1500.pcap fle-dump "$zk38_fle" "${fle_modes[@]}"
daemon $data/zk38-mtu1500.pcap "$zk38_zk --quorum-port 2888 --quorum-port 2889 --quorum-port 2890"
for cap in $data/zk380-A.pcap $data/zk380-B.pcap; do
  run_modes "$cap" zk-dump "$zk380_zk" "${zk_modes[@]}"
  run_modes "$cap" zab-dump "$zk380_zab" "${zab_modes[@]}"
  run_modes "$cap" fle-dump "$zk380_fle" "${fle_modes[@]}"
  daemon "$cap" "$zk380_zk --quorum-port 22881 --quorum-port 22882 --quorum-port 22883 --quorum-port 22884"
done
ls "$out" | wc -l
