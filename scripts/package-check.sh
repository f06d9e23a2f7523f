#!/usr/bin/env bash
# Checks that every library crate works as published: packages them (cargo's workspace packaging,
# which resolves the crates' dependencies on each other against the packages it has just built,
# since they are not on crates.io), fails on any warning `cargo package` prints, checks that the
# licences and README are in each package and that the vendored test vectors match
# tests/data/vectors, then unpacks each package into a temporary directory, outside the
# workspace, and runs its tests there: with every feature, and a build with none.
#
# usage: scripts/package-check.sh [EXTRA `cargo package` ARGS, e.g. --allow-dirty]
#   The packages land in $CARGO_TARGET_DIR/package (default target/package); the unpacked
#   crates build in $PACKAGE_CHECK_TARGET_DIR (default target-pkg beside the target directory).
#   Offline: CARGO_NET_OFFLINE=true scripts/package-check.sh (every dependency is in Cargo.lock).
#   KEEP=1 keeps the unpacked crates and prints where they are.
#
# An unpacked crate depends on its siblings by version from crates.io, where they are not (yet):
# each sibling in its dependency graph is pointed at the unpacked sibling by a [patch.crates-io]
# section added to the unpacked Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Every published library crate of the workspace (not zkwire, the binaries).
crates=(zkwire-jute zk-proto zab-proto fle-proto zkwire-tls zkwire-capture)
target=${CARGO_TARGET_DIR:-$root/target}
test_target=${PACKAGE_CHECK_TARGET_DIR:-$target-pkg}

# The vendored vectors must be the repository's.
for pair in zk-proto:client zab-proto:zab fle-proto:fle; do
  crate=${pair%%:*} name=${pair#*:}
  cmp "crates/$crate/tests/data/$name.json" "tests/data/vectors/$name.json"
done

log=$(mktemp)
work=$(mktemp -d)
cleanup() {
  rm -f "$log"
  if [ -n "${KEEP:-}" ]; then echo "package-check: unpacked crates kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
cargo package "${args[@]}" --no-verify "$@" 2>&1 | tee "$log"
if grep -qi '^warning' "$log"; then
  echo "package-check: cargo package printed warnings" >&2
  exit 1
fi

declare -A dir
for crate in "${crates[@]}"; do
  id=$(cargo pkgid -p "$crate")
  version=${id##*[#@]}
  file="$target/package/$crate-$version.crate"
  listing=$(tar -tzf "$file")
  for f in LICENSE-MIT LICENSE-APACHE README.md Cargo.lock; do
    grep -qx "$crate-$version/$f" <<<"$listing" || {
      echo "package-check: $file has no $f" >&2
      exit 1
    }
  done
  # Extracted files get the time of extraction (-m): with the packaged files' own (older) times,
  # cargo would take the previous run's builds in $test_target for fresh and test stale code.
  tar -xzmf "$file" -C "$work"
  dir[$crate]="$work/$crate-$version"
done

for crate in "${crates[@]}"; do
  manifest="${dir[$crate]}/Cargo.toml"
  patch=""
  for other in "${crates[@]}"; do
    # Direct or not: the lock file lists the whole graph (dev-dependencies included).
    if [ "$other" != "$crate" ] && grep -qx "name = \"$other\"" "${dir[$crate]}/Cargo.lock"; then
      patch+="$other = { path = \"${dir[$other]}\" }"$'\n'
    fi
  done
  if [ -n "$patch" ]; then
    printf '\n[patch.crates-io]\n%s' "$patch" >> "$manifest"
  fi
  echo "package-check: testing the packaged $crate in ${dir[$crate]}"
  (
    cd "${dir[$crate]}"
    export CARGO_TARGET_DIR="$test_target"
    cargo test --all-features
    cargo check --no-default-features --all-targets
  )
done
echo "package-check: ${crates[*]} package cleanly and pass their tests unpacked"
