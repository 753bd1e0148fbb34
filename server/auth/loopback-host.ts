/**
 * Anonymous writes are allowed on a loopback HTTP listener because only local users reach it.
 * A web page in a local browser reaches it too, through DNS rebinding (a name of the attacker's
 * that resolves to 127.0.0.1): its requests then carry that name in `Host`. Requests whose Host
 * is not a loopback name or address are therefore not treated as local.
 */
import { isLoopback } from '../../shared/wire/host-port.js';

/** True when the `Host` header names loopback (`localhost`, 127.x.y.z, [::1], any port). */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(host.trim().toLowerCase());
  const name = m?.[1] ?? m?.[2];
  return name !== undefined && isLoopback(name);
}
