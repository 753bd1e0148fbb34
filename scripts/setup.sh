#!/usr/bin/env bash
# Sets up a fresh Debian machine (as root) for nft-sync: the system packages it and its tests
# use, the npm dependencies from package-lock.json, the compiled dist/, and `nft-sync` on PATH
# (a link in /usr/local/bin to this checkout's dist/cli/main.js, so the README's commands run
# as written in a new shell, and a rebuild is picked up at once). NFT_SYNC_BIN_DIR puts the link
# elsewhere (tests/e2e/setup-script.test.ts).
set -euo pipefail
BIN_DIR=${NFT_SYNC_BIN_DIR:-/usr/local/bin}
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
mkdir -p "$BIN_DIR"
ln -sfn "$PWD/dist/cli/main.js" "$BIN_DIR/nft-sync"
echo "setup.sh: $("$BIN_DIR/nft-sync" --version) at $BIN_DIR/nft-sync"
