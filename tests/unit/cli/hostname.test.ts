import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { agentHostname } from '../../../cli/hostname.js';
import { isAgentName } from '../../../shared/ruleset/names.js';

test('agentHostname is the host name when it is a valid agent name, else "agent"', () => {
  const name = agentHostname();
  assert.ok(isAgentName(name), name);
  assert.equal(name, isAgentName(hostname()) ? hostname() : 'agent');
});
