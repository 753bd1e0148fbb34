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
# NS_PREFIX (default empty) prefixes the namespace and link names, so a test can make them its own.
set -euo pipefail
P=${NS_PREFIX:-}
WEB1=${P}web-1 WEB2=${P}web-2 BR=${P}nsbr0
LINKS=("${P}nsweb1" "${P}nsweb2")
URL=http://127.0.0.1:7480
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
# status_has REGEX: a line of `nft-sync status` matches (whatever its exit code).
status_has() {
  local table
  table=$(nft-sync status --http "$URL") || true
  grep -Eq "$1" <<<"$table"
}

command -v nft-sync >/dev/null || fail "nft-sync is not on PATH (run bash scripts/setup.sh)"
for ns in "$WEB1" "$WEB2"; do ! ip netns list | grep -qw "$ns" || fail "namespace $ns exists already"; done
cd "$work"

step "two hosts, web-1 and web-2: network namespaces on a bridge (198.18.0.0/24)"
ip link add "$BR" type bridge
ip addr add 198.18.0.1/24 dev "$BR"
ip link set "$BR" up
for n in 1 2; do
  ns=${P}web-$n
  ip netns add "$ns"
  ip link add "${P}nsweb$n" type veth peer name eth0 netns "$ns"
  ip link set "${P}nsweb$n" master "$BR" up
  ip -n "$ns" addr add "198.18.0.1$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

step "a repository, a token file, and the server"
nft-sync init rules.git
echo "$(openssl rand -hex 24) alice" > tokens
TOKEN=$(cut -d' ' -f1 tokens)
nft-sync server --repo rules.git --listen 198.18.0.1:7400 --insecure-plaintext \
  --http 127.0.0.1:7480 --token-file tokens >server.log 2>&1 &
pids+=($!)
until_ok 15 "the server answers" curl -sf "$URL/readyz"

step "clone, write the web ruleset in nft syntax, import it, map web-* to it, push"
git clone -q "http://alice:$TOKEN@127.0.0.1:7480/git/rules.git" clone
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

step "a bad push is refused, and nothing changes"
sed -i 's/"policy": "drop"/"policy": "block"/' rulesets/web.json
git commit -qam "a typo"
if git push -q origin main 2>../bad-push.log; then fail "the bad push was accepted"; fi
grep -q "NFTSYNC_ERR_PUSH_REFUSED" ../bad-push.log || fail "the refusal does not say why: $(cat ../bad-push.log)"
cat ../bad-push.log
git reset -q --hard origin/main

step "a release: the annotated tag v1.0.0"
git tag -a v1.0.0 -m "web: ssh and https"
git push -q origin v1.0.0
cd ..

step "an agent on each host, following releases (v*)"
for n in 1 2; do
  ip netns exec "${P}web-$n" nft-sync agent --server 198.18.0.1:7400 --track-tags 'v*' --name "web-$n" \
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
