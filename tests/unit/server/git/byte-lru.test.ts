import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteLru } from '../../../../server/git/byte-lru.js';
import { parsePackedRefs } from '../../../../server/git/read-refs.js';
import { refCandidates } from '../../../../shared/git/ref-candidates.js';

describe('ByteLru', () => {
  it('evicts least recently used entries to stay under the byte bound', () => {
    const lru = new ByteLru<Buffer>(10, (b) => b.length);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.get('a'); // a is now the most recent
    lru.set('c', Buffer.alloc(4));
    assert.equal(lru.get('b'), undefined);
    assert.ok(lru.get('a') && lru.get('c'));
    assert.equal(lru.size, 8);
    lru.set('huge', Buffer.alloc(11)); // larger than the bound: not kept, nothing evicted
    assert.equal(lru.get('huge'), undefined);
    assert.equal(lru.size, 8);
  });
  it('loadWith: a value on its way is waited for rather than loaded, and kept; a failed one is forgotten', async () => {
    const lru = new ByteLru<string>(100, (s) => s.length);
    let resolve!: (v: string) => void;
    lru.loadWith('k', new Promise<string>((r) => (resolve = r)));
    const waiting = lru.getOrLoad('k', async () => assert.fail('on its way: not loaded'));
    resolve('given');
    assert.equal(await waiting, 'given');
    assert.equal(lru.get('k'), 'given');
    lru.loadWith('bad', Promise.reject(new Error('no')));
    await assert.rejects(lru.getOrLoad('bad', async () => 'loaded'), /no/);
    assert.equal(await lru.getOrLoad('bad', async () => 'loaded'), 'loaded', 'the failure was not kept');
  });
  it('shares one load among concurrent callers and does not cache failures', async () => {
    const lru = new ByteLru<string>(100, (s) => s.length);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return 'value';
    };
    assert.deepEqual(await Promise.all([lru.getOrLoad('k', load), lru.getOrLoad('k', load), lru.getOrLoad('k', load)]), ['value', 'value', 'value']);
    assert.equal(loads, 1);
    await assert.rejects(lru.getOrLoad('bad', async () => Promise.reject(new Error('boom'))));
    assert.equal(await lru.getOrLoad('bad', async () => 'ok'), 'ok');
  });
});

describe('parsePackedRefs', () => {
  it('reads names, peeled values, and skips junk', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const refs = parsePackedRefs(`# pack-refs with: peeled fully-peeled sorted \n${a} refs/heads/main\n${b} refs/tags/v1\n^${a}\nnot a line\n${a} HEAD\n^zz\n`);
    assert.deepEqual([...refs], [['refs/heads/main', { oid: a }], ['refs/tags/v1', { oid: b, peeled: a }]]);
  });
});

describe('refCandidates', () => {
  it('follows git rev-parse order', () => {
    assert.deepEqual(refCandidates('v1'), ['refs/v1', 'refs/tags/v1', 'refs/heads/v1', 'refs/remotes/v1', 'refs/remotes/v1/HEAD']);
    assert.equal(refCandidates('refs/heads/x')[0], 'refs/heads/x');
    assert.equal(refCandidates('HEAD')[0], 'HEAD');
  });
});
