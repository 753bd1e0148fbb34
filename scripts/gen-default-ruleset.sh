#!/usr/bin/env bash
# Regenerates repo-template/rulesets/default.json from the nft text below, so that the file is
# exactly what nft 1.0.6 lists back (apply, then read back: no differences). Loads the text into
# a throwaway network namespace (never the host's own), lists it with `nft -j list ruleset`,
# drops handles and metainfo's host-specific fields (nft version and release name), and
# pretty-prints it. Needs root, nft and python3. Usage: scripts/gen-default-ruleset.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ns="gen-default-$$"
ip netns add "$ns"
trap 'ip netns delete "$ns"' EXIT
# Table name nft_sync, not `filter`: Debian's /etc/nftables.conf and other tools create
# `inet filter`; a name of our own makes ownership plain and never replaces someone else's table.
ip netns exec "$ns" nft -f - <<'NFT'
table inet nft_sync {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept comment "replies and related traffic"
    ct state invalid drop comment "packets conntrack cannot place"
    iif "lo" accept comment "loopback"
    meta l4proto icmp accept comment "ICMP: ping, path MTU discovery, errors"
    meta l4proto ipv6-icmp accept comment "ICMPv6: neighbour discovery, router advertisements, PMTU, errors"
    tcp dport 22 accept comment "ssh"
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
  }
  chain output {
    type filter hook output priority filter; policy accept;
  }
}
NFT
ip netns exec "$ns" nft -j list ruleset | python3 -c '
import json, sys
items = []
for o in json.load(sys.stdin)["nftables"]:
    (k, v), = o.items()
    if k == "metainfo":
        v = {"json_schema_version": v["json_schema_version"]}
    v.pop("handle", None)
    items.append({k: v})
print(json.dumps({"nftables": items}, indent=2))
' > repo-template/rulesets/default.json
echo "wrote repo-template/rulesets/default.json"
