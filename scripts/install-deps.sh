#!/usr/bin/env bash
# Installs loom's build/test dependencies on Debian 12. Run as root (or with
# sudo available). A no-op, without touching apt or pip, when everything is present.
#
# Debian packages, then a Python environment for the ONNX tests in <repo>/.venv-onnx
# (git-ignored): onnx's full checker, onnxruntime and onnxruntime-extensions (custom ops in
# Python), which Debian does not package.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(g++ cmake make libeigen3-dev libboost-dev catch2 libbenchmark-dev libdlpack-dev
          libtorch-dev libonnx-dev libprotobuf-dev python3-venv graphviz ca-certificates)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo)" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}"
fi

# Pinned: the versions the ONNX tests were written against.
venv=$repo/.venv-onnx
if ! "$venv/bin/python3" -c 'import onnx, onnxruntime, onnxruntime_extensions' >/dev/null 2>&1; then
  echo "install-deps: creating $venv (onnx, onnxruntime, onnxruntime-extensions)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check onnx==1.23.2 onnxruntime==1.32.0 \
    onnxruntime-extensions==0.15.2
fi
