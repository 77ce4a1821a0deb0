#!/usr/bin/env bash
# The installed package works: installs build/ into a fresh prefix, builds examples/embed against
# it with find_package(attend 0.2) and the same program with pkg-config, trains a small model with
# the installed attend binary and checks that both programs forecast exactly what
# `attend forecast` does. ctest runs it (test "install"); usage: scripts/test_install.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d /tmp/attend_install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/attend" --version

# a consumer project configured against the installed tree only
cmake -S examples/embed -B "$work/embed" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/embed" >/dev/null
# the same program through pkg-config
libdir=$(dirname "$(find "$prefix" -name attend.pc)")
PKG_CONFIG_PATH=$libdir c++ examples/embed/main.cpp -o "$work/embed_pc" \
  $(PKG_CONFIG_PATH=$libdir pkg-config --cflags --libs attend) -Wl,-rpath,"$(dirname "$libdir")"

"$prefix/bin/attend" train --model PatchTST --data custom --root_path data/own \
  --data_path seatbelts.csv --target drivers --seq_len 24 --label_len 12 --pred_len 6 \
  --d_model 16 --n_heads 2 --e_layers 1 --d_ff 32 --patch_len 6 --train_epochs 1 \
  --freq auto --threads 2 --checkpoints "$work/runs" >/dev/null
run=$(ls -d "$work"/runs/*)
"$prefix/bin/attend" forecast --checkpoint "$run" --input data/own/seatbelts.csv \
  --output "$work/cli.csv" --threads 2
"$work/embed/embed" "$run" data/own/seatbelts.csv >"$work/embed.csv"
"$work/embed_pc" "$run" data/own/seatbelts.csv >"$work/embed_pc.csv"
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
def read(name):
    lines = open(f"{work}/{name}").read().splitlines()
    header = lines[0].split(",")
    return header, [l.split(",") for l in lines[1:]]
cli_h, cli = read("cli.csv")
for name in ("embed.csv", "embed_pc.csv"):
    h, rows = read(name)
    assert h[1:] == cli_h[1:], (name, h, cli_h)
    assert len(rows) == len(cli) == 6, (name, len(rows), len(cli))
    a = np.array([[float(x) for x in r[1:]] for r in rows], np.float32)
    b = np.array([[float(x) for x in r[1:]] for r in cli], np.float32)
    assert np.array_equal(a, b), (name, a, b)
print("install: embed (find_package) and embed (pkg-config) forecast as attend forecast does")
PY
