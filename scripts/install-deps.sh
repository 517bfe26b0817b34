#!/usr/bin/env bash
# Installs the Debian packages retort needs, and only the missing ones.
# `make deps` runs this; `make test` and `make demo` depend on it.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libgtest-dev          # the test suite
  libopenblas-dev       # GEMM (RETORT_BLAS=openblas/AUTO)
  libdnnl-dev           # oneDNN convolutions (RETORT_DNNL=AUTO/ON)
  libomp-dev            # OpenMP runtime for clang builds (g++ ships libgomp)
  zlib1g-dev            # gzip-compressed IDX files
  libstb-dev            # PNG/JPEG decoding for image folders
  nlohmann-json3-dev    # safetensors headers, metrics, reports
  libyaml-cpp-dev       # experiment configs
  dataset-fashion-mnist # the default data set, /usr/share/datasets/fashion-mnist
)
# Extra packages for optional tasks (e.g. RETORT_EXTRA_PACKAGES="clang-14 libdnnl-dev").
if [ -n "${RETORT_EXTRA_PACKAGES:-}" ]; then
  read -r -a extra <<<"$RETORT_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
  echo "install-deps: install these by hand: ${packages[*]}" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: apt-get not found; install these by hand: ${missing[*]}" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: not root and sudo not found; install these as root: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
