import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refCandidates } from '../../../../shared/git/ref-candidates.js';

test('refCandidates lists the full names git tries, in its order (a tag before a branch)', () => {
  assert.deepEqual(refCandidates('main'), ['refs/main', 'refs/tags/main', 'refs/heads/main', 'refs/remotes/main', 'refs/remotes/main/HEAD']);
  assert.equal(refCandidates('refs/heads/x')[0], 'refs/heads/x', 'a full name is tried as is, first');
  assert.equal(refCandidates('HEAD')[0], 'HEAD');
  const v = refCandidates('v1.0');
  assert.ok(v.indexOf('refs/tags/v1.0') < v.indexOf('refs/heads/v1.0'));
});
