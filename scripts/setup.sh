#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) for nft-sync: the system packages it and its tests
# use, the npm dependencies from package-lock.json, and the compiled dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: run as root (it installs packages and nft needs root)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nftables git iproute2 openssh-client openssl ca-certificates curl python3 util-linux >/dev/null
command -v node >/dev/null || { echo "setup.sh: Node.js 20 is required" >&2; exit 1; }
npm ci --no-audit --no-fund
npm run build
