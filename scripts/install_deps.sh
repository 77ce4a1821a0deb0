#!/usr/bin/env bash
# Installs the Debian packages attend needs to build, test and run (only those missing).
# Usage: scripts/install_deps.sh [--bench] [--fuzz]
#   --bench adds PyTorch and OpenBLAS for the comparison scripts; --fuzz adds clang-14 and its
#   sanitizer and libFuzzer runtimes (libclang-rt-14-dev) for scripts/fuzz.sh.
set -euo pipefail

# ocl-icd-opencl-dev: Debian's dnnl-config.cmake asks for OpenCL (only a Recommends of libdnnl-dev).
# The Python package (python/, setup.py): pybind11-dev, python3-dev, setuptools/wheel/pip/venv to
# build and install it without network access, numpy and pandas at run time, pytest for its tests,
# matplotlib for the README's Python quick start (its plot). libcpp-httplib-dev: `attend serve`.
# OpenMPI (libopenmpi-dev, openmpi-bin's mpirun): data-parallel training, `mpirun -np N attend
# train` (docs/distributed.md).
packages=(build-essential cmake ninja-build ccache pkg-config libopenmpi-dev openmpi-bin
          libdnnl-dev ocl-icd-opencl-dev libhwy-dev libcli11-dev nlohmann-json3-dev libfmt-dev
          libcpp-httplib-dev
          libhowardhinnant-date-dev libcairo2-dev libgtest-dev libgmock-dev libbenchmark-dev
          libomp-dev python3 python3-numpy
          pybind11-dev python3-dev python3-pandas python3-setuptools python3-wheel python3-pip
          python3-venv python3-pytest python3-matplotlib)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch libopenblas0-openmp) ;;
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "usage: scripts/install_deps.sh [--bench] [--fuzz]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ "$(id -u)" != "0" ]]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
