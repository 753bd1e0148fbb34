#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) for nft-sync: the system packages it and its tests
# use, the npm dependencies from package-lock.json, the compiled dist/, and `nft-sync` on PATH
# (a link in /usr/local/bin to this checkout's dist/cli/main.js, so the README's commands run
# as written in a new shell, and a rebuild is picked up at once).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "setup.sh: run as root (it installs packages and nft needs root)" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# python3: the agent's drift listener (agent/drift/nft-events.py); util-linux: setpriv (children die
# with the agent); systemd: systemd-analyze, which checks the units in packaging/ (tests/e2e/systemd-units.test.ts).
apt-get install -y -qq --no-install-recommends nftables git iproute2 openssh-client openssl ca-certificates curl python3 util-linux systemd >/dev/null
command -v node >/dev/null || { echo "setup.sh: Node.js 20 is required" >&2; exit 1; }
npm ci --no-audit --no-fund
npm run build
ln -sfn "$PWD/dist/cli/main.js" /usr/local/bin/nft-sync
echo "setup.sh: $(/usr/local/bin/nft-sync --version) at /usr/local/bin/nft-sync"
