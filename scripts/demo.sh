#!/usr/bin/env bash
# The main job on the embedded default: a repository made from repo-template/, a server on
# loopback, and an agent applying the repository's ruleset inside a network namespace this
# script creates. Then a change is pushed with stock git and the agent applies it. Everything
# it creates is removed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
nftsync() { node dist/cli/main.js "$@"; }
# Background processes are started without the function so that $! is node itself.
NFTSYNC=(node dist/cli/main.js)
work=$(mktemp -d /tmp/nft-sync-demo.XXXXXX)
ns="nftsync-demo-$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
echo "== nft-sync init $work/rules.git"
nftsync init "$work/rules.git"

echo "== nft-sync server on 127.0.0.1:$port"
"${NFTSYNC[@]}" server --repo "$work/rules.git" --listen "127.0.0.1:$port" --http "127.0.0.1:$((port + 1))" --log-level warn &
pids+=($!)

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
for _ in $(seq 50); do nftsync fetch --server "127.0.0.1:$port" --ref main --ruleset default >/dev/null 2>&1 && break; sleep 0.1; done

echo "== nft-sync agent (namespace $ns) following main"
"${NFTSYNC[@]}" agent --server "127.0.0.1:$port" --ref main --name demo-host --nft "ip netns exec $ns nft" \
  --state-dir "$work/state" --log-level info >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '"msg":"applied"' "$work/agent.log" 2>/dev/null && break; sleep 0.1; done
grep '"msg":"applied"' "$work/agent.log"
echo "== ruleset in force in $ns:"
ip netns exec "$ns" nft list ruleset

echo "== a change pushed with git: allow HTTPS too"
git clone -q "$work/rules.git" "$work/clone"
python3 - "$work/clone/rulesets/default.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
items = doc["nftables"]
ssh = next(i for i, o in enumerate(items) if "rule" in o and '"dport"' in json.dumps(o) and "22" in json.dumps(o))
rule = json.loads(json.dumps(items[ssh]))
for e in rule["rule"]["expr"]:
    if "match" in e and e["match"].get("right") == 22:
        e["match"]["right"] = 443
    if "comment" in rule["rule"]:
        rule["rule"]["comment"] = "https"
items.insert(ssh + 1, rule)
json.dump(doc, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
git -C "$work/clone" -c user.name=demo -c user.email=demo@localhost commit -qam "Allow HTTPS"
git -C "$work/clone" push -q origin main
for _ in $(seq 100); do [ "$(grep -c '"msg":"applied"' "$work/agent.log")" -ge 2 ] && break; sleep 0.1; done
grep '"msg":"applied"' "$work/agent.log" | tail -1
echo "== ruleset in force in $ns after the push:"
ip netns exec "$ns" nft list ruleset
echo "== agents known to the server:"
curl -s "http://127.0.0.1:$((port + 1))/api/v1/agents" 2>/dev/null || node -e "fetch('http://127.0.0.1:$((port + 1))/api/v1/agents').then(r=>r.text()).then(console.log)"
echo
