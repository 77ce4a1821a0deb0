#!/usr/bin/env bash
# The .deb installs and runs on a fresh Debian 12: builds it (cpack -G DEB in BUILD), makes a
# minimal bookworm root with debootstrap, installs the package there with apt (which must find
# every declared dependency) and runs the installed attend: --version, then a short training and
# forecast on data/own/seatbelts.csv. Needs root and network access to a Debian mirror; by hand,
# beside CI (not in every CI run):   sudo scripts/test_deb.sh [BUILD] [MIRROR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mirror=${2:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || apt-get install -y debootstrap
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/attend_*_amd64.deb | tail -1)
root=$(mktemp -d /tmp/attend_deb_root.XXXXXX)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

echo "debootstrap bookworm into $root (a few minutes)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -20 "$root.log"; exit 1; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/attend.deb"
mkdir -p "$root/tmp/data" && cp data/own/seatbelts.csv "$root/tmp/data/"
chroot "$root" apt-get update -q >/dev/null
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/attend.deb
chroot "$root" attend --version
chroot "$root" attend train --model DLinear --data custom --root_path /tmp/data \
  --data_path seatbelts.csv --target drivers --seq_len 24 --label_len 12 --pred_len 6 \
  --freq auto --train_epochs 1 --checkpoints /tmp/runs
chroot "$root" sh -c 'attend forecast --checkpoint /tmp/runs/* --input /tmp/data/seatbelts.csv'
echo "deb: $(basename "$deb") installed with its dependencies on a fresh Debian 12 and ran"
