/**
 * Table names that well-known tools create on their hosts. An agent replaces every table its
 * ruleset declares, so a ruleset that declares one of these would empty that tool's table on a
 * host where the tool runs (the agent refuses such a table there unless told to adopt it). The
 * push validator warns about them; it does not refuse, since a fleet may mean to own the name.
 *
 * Each entry says where the name comes from. Keep the list to tools whose table names are
 * fixed by their code or documentation; names are matched exactly, or as a prefix where the
 * tool adds an interface name.
 */
import type { TableRef } from './ruleset-types.js';

interface WellKnownTable {
  families: readonly string[];
  /** The exact name, or the fixed start of it when `prefix` is true. */
  name: string;
  prefix?: boolean;
  owner: string;
}

const IP = ['ip', 'ip6'];

const WELL_KNOWN: readonly WellKnownTable[] = [
  // fail2ban: config/action.d/nftables.conf (`table = f2b-table`, `table_family = inet`).
  { families: ['inet'], name: 'f2b-table', owner: 'fail2ban' },
  // iptables-nft / ip6tables-nft (what Docker, ufw, libvirt's and many others' iptables rules
  // become on nftables hosts): one table per iptables table, in family ip or ip6.
  { families: IP, name: 'filter', owner: 'iptables-nft (Docker, ufw, …)' },
  { families: IP, name: 'nat', owner: 'iptables-nft (Docker, ufw, …)' },
  { families: IP, name: 'mangle', owner: 'iptables-nft' },
  { families: IP, name: 'raw', owner: 'iptables-nft' },
  { families: IP, name: 'security', owner: 'iptables-nft' },
  // arptables-nft and ebtables-nft (iptables package, nft-arp.c / nft-bridge.c).
  { families: ['arp'], name: 'filter', owner: 'arptables-nft' },
  { families: ['bridge'], name: 'filter', owner: 'ebtables-nft' },
  { families: ['bridge'], name: 'nat', owner: 'ebtables-nft' },
  { families: ['bridge'], name: 'broute', owner: 'ebtables-nft' },
  // Docker Engine 29's nftables firewall backend (docs: engine/network/firewall-nftables).
  { families: IP, name: 'docker-bridges', owner: 'Docker (nftables backend)' },
  // firewalld's nftables backend (src/firewall/core/nftables.py: TABLE_NAME "firewalld", plus
  // "firewalld_policy_drop" and "firewalld_probe"); early versions also used ip and ip6 tables
  // of the same name.
  { families: ['inet', ...IP], name: 'firewalld', owner: 'firewalld' },
  { families: ['inet'], name: 'firewalld_policy_drop', owner: 'firewalld' },
  { families: ['inet'], name: 'firewalld_probe', owner: 'firewalld' },
  // kube-proxy in nftables mode (KEP-3866, pkg/proxy/nftables: table "kube-proxy").
  { families: IP, name: 'kube-proxy', owner: 'kube-proxy (nftables mode)' },
  // libvirt's nftables firewall backend (libvirt 10.4 and later: table "libvirt_network").
  { families: IP, name: 'libvirt_network', owner: 'libvirt' },
  // Podman's netavark with its nftables driver: `table inet netavark`.
  { families: ['inet'], name: 'netavark', owner: 'Podman (netavark)' },
  // LXD and Incus network firewall driver "nftables" (table "lxd" / "incus", family inet).
  { families: ['inet'], name: 'lxd', owner: 'LXD' },
  { families: ['inet'], name: 'incus', owner: 'Incus' },
  // OpenWrt's firewall4 (fw4): `table inet fw4`.
  { families: ['inet'], name: 'fw4', owner: 'OpenWrt firewall4' },
  // NixOS networking.nftables firewall (nixos/modules/services/networking/firewall-nftables.nix).
  { families: ['inet'], name: 'nixos-fw', owner: 'NixOS firewall' },
  // NetworkManager shared connections on its nftables backend: `ip nm-shared-<interface>`.
  { families: ['ip'], name: 'nm-shared-', prefix: true, owner: 'NetworkManager (shared connection)' },
  // wg-quick (wireguard-tools) with nft available: `ip[6] wg-quick-<interface>`.
  { families: IP, name: 'wg-quick-', prefix: true, owner: 'wg-quick (WireGuard)' },
  // sshguard's nftables backend (sshg-fw-nft-sets: table "sshguard" in ip and ip6).
  { families: IP, name: 'sshguard', owner: 'sshguard' },
  // CrowdSec firewall bouncer, nftables mode (default config: "crowdsec" and "crowdsec6").
  { families: ['ip'], name: 'crowdsec', owner: 'CrowdSec firewall bouncer' },
  { families: ['ip6'], name: 'crowdsec6', owner: 'CrowdSec firewall bouncer' },
];

/**
 * The tool known to create `table` on its hosts (e.g. `fail2ban` for `inet f2b-table`), or
 * undefined. Pure; never throws.
 */
export function wellKnownTableOwner(table: TableRef): string | undefined {
  for (const w of WELL_KNOWN) {
    if (!w.families.includes(table.family)) continue;
    if (w.prefix === true ? table.name.startsWith(w.name) && table.name.length > w.name.length : table.name === w.name) return w.owner;
  }
  return undefined;
}

/**
 * One warning per table of `tables` that a well-known tool uses, naming the tool and what the
 * agents will do about it. Pure; never throws.
 */
export function wellKnownTableWarnings(tables: readonly TableRef[]): string[] {
  const out: string[] = [];
  for (const t of tables) {
    const owner = wellKnownTableOwner(t);
    if (owner === undefined) continue;
    out.push(
      `table ${t.family} ${t.name} is a name ${owner} uses: on a host where it runs, the agent refuses to replace that table unless told to adopt it (it would empty the tool's rules); rename the table unless the fleet means to own it`,
    );
  }
  return out;
}
