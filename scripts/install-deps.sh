#!/usr/bin/env bash
# Installs loom's build/test dependencies on Debian 12. Run as root (or with
# sudo available). A no-op, without touching apt, when everything is present.
set -euo pipefail

packages=(g++ cmake make libeigen3-dev libboost-dev catch2 libbenchmark-dev libdlpack-dev
          libtorch-dev graphviz ca-certificates)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo)" >&2; exit 1; }
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${packages[@]}"
