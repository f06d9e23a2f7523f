#!/usr/bin/env bash
# Records the varied bench corpus, each capture from a real 3-server ZooKeeper 3.8 ensemble
# (scripts/record-big-capture.sh: a private network namespace, a 1500-byte MTU, the leader
# killed and restarted halfway), so that speed is measured on differently shaped traffic rather
# than on the capture it was tuned on:
#   loadgen.pcap   the C client's load_gen: bulk creates, reads and deletes (4 clients)
#   reads.pcap     1,200 connections doing small reads
#   large.pcap     100 KB - 1 MB values written and read back, over a 1500-byte MTU
#   watches.pcap   thousands of data watches set, then fired
#   churn.pcap     session churn: connect, one read, close, 100 at a time
#   lossy.pcap     loadgen.pcap as a sniffer that started late and then missed 2% of the
#                  packets would have it (scripts/lossy-capture.py): mid-stream starts, gaps
#
# usage: sudo scripts/record-corpus.sh [OUTDIR=target/bench/corpus] [SECONDS=60]
#   Then: scripts/bench.sh OUTDIR/*.pcap
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/bench/corpus}
seconds=${2:-60}
mkdir -p "$out"
scripts/record-big-capture.sh "$out/loadgen.pcap" "$seconds" 4
for shape in reads large watches churn; do
  WORKLOAD=$shape scripts/record-big-capture.sh "$out/$shape.pcap" "$seconds"
done
python3 scripts/lossy-capture.py "$out/loadgen.pcap" 0.1 0.02 "$out/lossy.pcap"
ls -l "$out"
