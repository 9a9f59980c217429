#!/usr/bin/env bash
# Installs the Debian packages bitnet-cxx builds and tests with (no-op when all are present).
# Usage: scripts/install-deps.sh [--arm]   (--arm adds the aarch64 cross compiler and qemu-user)
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config libgtest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libpcre2-dev)
# node + npm (tokenizer reference data): any install that provides both commands will do (e.g.
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
if [[ "${1:-}" == "--arm" ]]; then pkgs+=(g++-aarch64-linux-gnu qemu-user); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
