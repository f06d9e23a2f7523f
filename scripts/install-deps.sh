#!/usr/bin/env bash
# Installs the system packages zkwire needs to build and test on Debian/Ubuntu:
#   libpcap-dev            live capture (the `pcap` crate links libpcap)
#   tshark                 the independent TCP-reassembly check in the test suite
#   zookeeper, python3-kazoo, tcpdump
#                          the live tests: a real ZooKeeper ensemble, a real client that logs
#                          what it sends, and a second capture to compare with
#   python3-prometheus-client
#                          the reference OpenMetrics parser that checks zk-stats-daemon's /metrics
#   prometheus             promtool, which checks deploy/alerts.yml and runs its unit tests
#                          (deploy/alerts.test.yml)
#   iproute2               tc and ss: the write-tracing test slows one follower's quorum link
#                          (netem) and finds its connection
#   openssl                the TLS live test turns the keystore's key into PEM (tshark derives
#                          the quorum's key log from it; the TLS front serves it)
#   tmux                   a real terminal for zk-top's full-screen end-to-end test
#                          (tests/tests/zk_top.rs: send-keys, capture-pane)
# Packages already present are not reinstalled. Uses sudo when not run as root.
set -euo pipefail
packages=(libpcap-dev tshark zookeeper zookeeper-bin python3-kazoo tcpdump tcpreplay python3-prometheus-client
  prometheus tmux iproute2 openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}" >&2
