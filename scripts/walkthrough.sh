#!/usr/bin/env bash
# The README's operator walkthrough ("A walkthrough"), run end to end with the README's commands,
# as an operator would: hosts as network namespaces on a bridge, a repository and a server with
# a token file, a clone and a push, a bad push refused, two agents following releases, a
# release, status, a drift put back, a release that locks the agents out (rolled back by
# itself), and a rollback. Each step checks its outcome; any failure stops it with a message.
# Everything it creates (processes, namespaces, links, files) is removed on exit, even on
# failure or interruption.
#
# Needs root, nft, git, openssl and `nft-sync` on PATH (bash scripts/setup.sh puts it there).
# Where the README writes ports 7400 (agents) and 7480 (HTTP), the server here listens on port 0:
# the kernel picks free ports, read back from the server's log, so the script runs beside
# anything else on the machine (other tests included).
# NS_PREFIX (default empty) prefixes the namespace and link names, and WALK_NET (default
# 198.18.0) is the bridge's /24, so a test can make both its own.
set -euo pipefail
P=${NS_PREFIX:-}
NET=${WALK_NET:-198.18.0}
WEB1=${P}web-1 WEB2=${P}web-2 BR=${P}nsbr0
LINKS=("${P}nsweb1" "${P}nsweb2")
work=$(mktemp -d /tmp/nft-sync-walkthrough.XXXXXX)
pids=()

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in "$WEB1" "$WEB2"; do ip netns delete "$ns" 2>/dev/null || true; done
  for l in "${LINKS[@]}" "$BR"; do ip link delete "$l" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; } >&2; done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }
fail() { echo "walkthrough: FAILED: $*" >&2; exit 1; }
# until_ok SECONDS WHAT COMMAND...: run COMMAND every 0.1 s until it succeeds, at most SECONDS.
until_ok() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || fail "$what (waited ${secs} s)"
    sleep 0.1
  done
}
# listening_port WHAT: the port of the server's "WHAT listening" log line (empty until logged).
listening_port() {
  sed -n "s/.*\"port\":\([0-9]*\)}.*\"msg\":\"$1 listening\".*/\1/p" server.log | head -n 1
}
server_listening() { [ -n "$(listening_port http)" ] && [ -n "$(listening_port "wire protocol")" ]; }
# status_has REGEX: a line of `nft-sync status` matches (whatever its exit code).
status_has() {
  local table
  table=$(nft-sync status --http "$URL") || true
  grep -Eq "$1" <<<"$table"
}

command -v nft-sync >/dev/null || fail "nft-sync is not on PATH (run bash scripts/setup.sh)"
for ns in "$WEB1" "$WEB2"; do ! ip netns list | grep -qw "$ns" || fail "namespace $ns exists already"; done
cd "$work"

step "two hosts, web-1 and web-2: network namespaces on a bridge ($NET.0/24)"
ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
for n in 1 2; do
  ns=${P}web-$n
  ip netns add "$ns"
  ip link add "${P}nsweb$n" type veth peer name eth0 netns "$ns"
  ip link set "${P}nsweb$n" master "$BR" up
  ip -n "$ns" addr add "$NET.1$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

step "a repository, a token file, and the server"
nft-sync init rules.git
echo "$(openssl rand -hex 24) alice" > tokens
TOKEN=$(cut -d' ' -f1 tokens)
nft-sync server --repo rules.git --listen "$NET.1:0" --insecure-plaintext \
  --http 127.0.0.1:0 --token-file tokens >server.log 2>&1 &
pids+=($!)
until_ok 15 "the server listens" server_listening
WIRE=$NET.1:$(listening_port "wire protocol") HTTP=127.0.0.1:$(listening_port http)
URL=http://$HTTP
echo "agents: $WIRE (the README's 198.18.0.1:7400), HTTP: $URL (the README's 127.0.0.1:7480)"
until_ok 15 "the server answers" curl -sf "$URL/readyz"

step "clone, write the web ruleset in nft syntax, import it, map web-* to it, push"
git clone -q "http://alice:$TOKEN@$HTTP/git/rules.git" clone
cd clone
git config user.name alice && git config user.email alice@example.net
cat > web.nft <<'NFT'
table inet nft_sync {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif "lo" accept
    tcp dport { 22, 443 } accept
  }
}
NFT
nft-sync import web.nft --output rulesets/web.json
printf 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n' > nft-sync.yaml
git add rulesets/web.json nft-sync.yaml
git commit -qm "web servers: ssh and https"
git push -q origin main

step "bad pushes are refused, and nothing changes: a typo, not JSON, a rule nft refuses, a missing ruleset"
sed -i 's/"policy": "drop"/"policy": "block"/' rulesets/web.json
git commit -qam "a typo"
if git push -q origin main 2>../bad-push.log; then fail "the bad push was accepted"; fi
grep -q "NFTSYNC_ERR_PUSH_REFUSED" ../bad-push.log || fail "the refusal does not say why: $(cat ../bad-push.log)"
cat ../bad-push.log
git reset -q --hard origin/main
# bad_push WHAT REGEX: commit what is staged, push it, and check the refusal matches REGEX.
bad_push() {
  git commit -qam "$1"
  if git push -q origin main 2>../bad-push.log; then fail "$1: the push was accepted"; fi
  grep -Eq "$2" ../bad-push.log || fail "$1: the refusal does not say $2: $(cat ../bad-push.log)"
  grep -m1 "remote: nft-sync: refs/heads/main" ../bad-push.log
  git reset -q --hard origin/main
}
echo '{"nftables": [' > rulesets/web.json
bad_push "not JSON" "rulesets/web.json .*NFTSYNC_ERR_RULESET_JSON: .*line 2, column 1"
sed -i '0,/"accept": null/s//"jump": {"target": "nowhere"}/' rulesets/web.json
bad_push "a jump to a chain that does not exist" "NFTSYNC_ERR_NFT_APPLY: nft refuses rule 1 of chain inet nft_sync input \\(/nftables/"
sed -i 's/ruleset: web/ruleset: webs/' nft-sync.yaml
bad_push "a mapping to a missing ruleset" "nft-sync.yaml \\(blob [0-9a-f]+\\): NFTSYNC_ERR_RULESET_NOT_FOUND: nft-sync.yaml names ruleset \"webs\""

step "a release: the annotated tag v1.0.0"
git tag -a v1.0.0 -m "web: ssh and https"
git push -q origin v1.0.0
cd ..

step "an agent on each host, following releases (v*)"
for n in 1 2; do
  ip netns exec "${P}web-$n" nft-sync agent --server "$WIRE" --track-tags 'v*' --name "web-$n" \
    --state-dir "$PWD/web-$n.state" --confirm-window 3 >"web-$n.log" 2>&1 &
  pids+=($!)
done
for n in 1 2; do
  until_ok 30 "web-$n applies v1.0.0" status_has "^web-$n +v\* +web +[0-9a-f]{12} \(v1\.0\.0\) +Applied"
  rules=$(ip netns exec "${P}web-$n" nft list chain inet nft_sync input)
  grep -q "tcp dport { 22, 443 } accept" <<<"$rules" || fail "web-$n: not the web ruleset: $rules"
done
nft-sync status --http "$URL"

step "the next release, v1.1.0 (also http); both agents move to it"
cd clone
sed -i 's/tcp dport { 22, 443 } accept/tcp dport { 22, 80, 443 } accept/' web.nft
nft-sync import web.nft --output rulesets/web.json
git commit -qam "web: http too"
git tag -a v1.1.0 -m "web: http too"
git push -q origin main v1.1.0
cd ..
for n in 1 2; do until_ok 15 "web-$n applies v1.1.0" status_has "^web-$n .*\(v1\.1\.0\) +Applied"; done
nft-sync status --http "$URL"

step "a drift: a rule added by hand on web-1 is put back"
ip netns exec "$WEB1" nft add rule inet nft_sync input tcp dport 23 accept
until_ok 10 "web-1 heals the drift" sh -c "! ip netns exec $WEB1 nft list chain inet nft_sync input | grep -q 'dport 23'"
until_ok 10 "the status shows the healed drift" status_has "^web-1 .*Applied \(drift healed\)"
nft-sync status --http "$URL"

step "a release that cuts the agents off from the server (v1.2.0) is rolled back by each agent"
cd clone
printf '  chain output {\n    type filter hook output priority 0; policy drop;\n  }\n' > output.nft
sed -i '$d' web.nft && cat output.nft >> web.nft && echo '}' >> web.nft
nft-sync import web.nft --output rulesets/web.json
git commit -qam "web: no outbound traffic (locks the agents out)"
git tag -a v1.2.0 -m "web: lock down output"
git push -q origin main v1.2.0
cd ..
for n in 1 2; do until_ok 30 "web-$n rolls v1.2.0 back" status_has "^web-$n .*\(v1\.1\.0\) +Failed +RolledBack"; done
rules=$(ip netns exec "$WEB1" nft list table inet nft_sync)
if grep -q "chain output" <<<"$rules"; then fail "web-1 still has the output chain"; fi
if nft-sync status --http "$URL"; then fail "status exits 0 while agents are not Ready"; else [ $? -eq 3 ] || fail "status exit code"; fi

step "roll the fleet back: the next release with the rulesets of v1.1.0"
NFT_SYNC_TOKEN=$TOKEN nft-sync rollback --http "$URL" --track-tags 'v*' --to v1.1.0
for n in 1 2; do until_ok 15 "web-$n on v1.2.1" status_has "^web-$n .*\(v1\.2\.1\) +Applied +Applied"; done
nft-sync status --http "$URL"
NFT_SYNC_TOKEN=$TOKEN nft-sync rollback --http "$URL" --track-tags 'v*' --to v1.1.0

step "walkthrough complete"
