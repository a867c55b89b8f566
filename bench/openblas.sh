#!/usr/bin/env bash
# Unpacks Debian's OpenBLAS (libopenblas0-pthread) into out/openblas without installing it (no system change), so the
# train suite's torch engine can load it via LD_LIBRARY_PATH. Neighbours: bench/train.js uses out/openblas when present.
#
# Why: Debian's python3-torch links libblas.so.3, which is netlib's unoptimized reference BLAS unless an optimized
# BLAS is installed; PyTorch's nn.Linear (forward and backward) then runs several times slower than it should.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/out/openblas"
lib="$dest/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [ -e "$lib/libblas.so.3" ]; then echo "$lib"; exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp"
(cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null)
mkdir -p "$dest"
dpkg -x "$tmp"/libopenblas0-pthread_*.deb "$dest"
[ -e "$lib/libblas.so.3" ] || { echo "openblas.sh: $lib/libblas.so.3 not found in the package" >&2; exit 1; }
echo "$lib"
