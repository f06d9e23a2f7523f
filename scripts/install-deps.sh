#!/usr/bin/env bash
# Installs the system packages zkwire needs to build and test on Debian/Ubuntu:
#   libpcap-dev  live capture (the `pcap` crate links libpcap)
#   tshark       the independent TCP-reassembly check in the test suite
# Packages already present are not reinstalled. Uses sudo when not run as root.
set -euo pipefail
packages=(libpcap-dev tshark)
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
