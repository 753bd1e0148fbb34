import { hostname } from 'node:os';
import { isAgentName } from '../shared/ruleset/names.js';

/** The host name as an agent name (the default for --name), or "agent" if it is not a valid one. */
export function agentHostname(): string {
  const h = hostname();
  return isAgentName(h) ? h : 'agent';
}
