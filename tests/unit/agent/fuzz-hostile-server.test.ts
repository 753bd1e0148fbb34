/**
 * Fuzz of the agent against a hostile server, in-process: 100,000+ generated answers (frames
 * that lie or stop short, bytes that do not match their blob id, rulesets that pass the schema
 * or carry commands and foreign tables, truncated and forged release proofs) driven through the
 * agent's real code: the frame and message decoders with the limits WireClient sets, its answer
 * checks (fetchResult, and deltaRefusal for delta answers: malformed, cut short, lying about
 * their size, base or blob), verifyRevision, checkReleaseProof and the apply plan. Each property
 * asserts what must come out, not only that nothing crashes. The same answers reach a real
 * WireClient, Reconciler and nft in tests/integration/agent/fuzz-hostile-server.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fetchFrameAllowance, fetchResult, IDLE_MAX_FRAME } from '../../../agent/wire/wire-client.js';
import { deltaRefusal, type FetchResult } from '../../../agent/wire/fetch-answer.js';
import { verifyRevision } from '../../../agent/reconcile/verify-revision.js';
import { buildApplyTransaction, tablesToCreate, type NftCommandBatch } from '../../../shared/ruleset/apply-plan.js';
import { NftSyncError } from '../../../shared/errors.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { MessageReader } from '../../../shared/wire/message-reader.js';
import { encodeMessage } from '../../../shared/wire/message-codec.js';
import { PRE_HANDSHAKE_MAX_FRAME, SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../shared/wire/messages.js';
import { checkReleaseProof } from '../../../shared/release/release-proof.js';
import { managedTables } from '../../../shared/ruleset/ruleset-schema.js';
import type { TableRef } from '../../../shared/ruleset/ruleset-types.js';
import { hostileInput } from '../../helpers/fuzz-inputs.js';
import { commandRuleset, deltaFrame, deltaLie, editProof, hostileDelta, proofEdit, releaseProof, rulesetBytes, rulesetFrame, TABLE_POOL, validRuleset } from '../../helpers/fuzz-server-answers.js';

const RUNS = Number(process.env.NFT_SYNC_FUZZ_RUNS ?? 100_000);
/** Small, so oversized answers are cheap to make. */
const MAX_RULESET = 4096;
const key = (t: { family: unknown; name: unknown }) => `${String(t.family)} ${String(t.name)}`;

/**
 * What the batch may touch: every command is add, create or a table-level delete; a table is
 * created exactly when declared and not owned, deleted only when owned; every object it adds
 * lives in a declared table. Throws an AssertionError naming the first violation.
 */
function assertBatchConfined(batch: NftCommandBatch, declared: readonly TableRef[], owned: readonly TableRef[]): void {
  const decl = new Set(declared.map(key));
  const own = new Set(owned.map(key));
  const creates = new Set<string>();
  for (const cmd of batch.nftables) {
    const verbs = Object.keys(cmd);
    assert.equal(verbs.length, 1, JSON.stringify(cmd).slice(0, 200));
    const verb = verbs[0]!;
    const inner = cmd[verb] as Record<string, Record<string, unknown>>;
    const kinds = Object.keys(inner);
    assert.equal(kinds.length, 1);
    const kind = kinds[0]!;
    const body = inner[kind]!;
    assert.ok(['add', 'create', 'delete'].includes(verb), `verb ${verb}`);
    if (verb === 'create' || verb === 'delete') assert.equal(kind, 'table', `${verb} ${kind}`);
    const t = kind === 'table' ? key(body as { family: unknown; name: unknown }) : key({ family: body.family, name: body.table });
    if (verb === 'create') {
      assert.ok(decl.has(t) && !own.has(t), `create ${t}`);
      creates.add(t);
    } else if (verb === 'delete') assert.ok(own.has(t), `delete ${t}: not owned`);
    else if (kind === 'table') assert.ok(decl.has(t) || own.has(t), `add table ${t}`);
    else assert.ok(decl.has(t), `${kind} in ${t}, which is not declared`);
  }
  for (const t of declared) if (!own.has(key(t))) assert.ok(creates.has(key(t)), `${key(t)} not owned but not created`);
}

/**
 * Feed a server's byte stream to a reader configured as WireClient configures it (pre-handshake
 * limit, then the idle limit, or a fetch's allowance), and every ruleset answer on through the
 * agent's checks and plan. Asserts that the reader never waits for a frame over its limit and
 * that only NftSyncError is ever thrown. Returns how far it got.
 */
function agentSide(stream: Buffer, cuts: number[], fetching: boolean, owned: TableRef[]): 'applied-plan' | 'refused' | 'nothing' {
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, PRE_HANDSHAKE_MAX_FRAME);
  const limit = fetching ? fetchFrameAllowance({ maxRulesetBytes: MAX_RULESET, proof: false }) : IDLE_MAX_FRAME;
  let limitNow = PRE_HANDSHAKE_MAX_FRAME;
  let written = 0;
  let at = 0;
  let result: 'applied-plan' | 'refused' | 'nothing' = 'nothing';
  try {
    for (const cut of [...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length]) {
      const chunk = stream.subarray(at, Math.max(at, cut));
      at = Math.max(at, cut);
      reader.write(chunk);
      written += chunk.length;
      for (;;) {
        const m = reader.read();
        if (m === undefined) {
          const pending = reader.pendingBytes;
          if (pending >= 4) {
            const announced = stream.readUInt32BE(written - pending);
            assert.ok(announced <= limitNow, `waits for a frame of ${announced} bytes over the limit ${limitNow}`);
          }
          break;
        }
        if (limitNow === PRE_HANDSHAKE_MAX_FRAME) {
          limitNow = limit;
          reader.setMaxFrame(limit);
        }
        if (m.message.type !== 'ruleset' || !fetching) continue;
        const answer = fetchResult(m.message, m.body, { maxRulesetBytes: MAX_RULESET, proof: false });
        if (answer.kind !== 'ruleset') continue;
        const { ruleset } = verifyRevision(answer.bytes, answer.blob, { ruleset: answer.ruleset, commit: answer.commit });
        assertBatchConfined(buildApplyTransaction(ruleset, owned), managedTables(ruleset), owned);
        result = 'applied-plan';
      }
    }
    reader.end();
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof NftSyncError, `threw ${String(err)}`);
    return 'refused';
  }
  return result;
}

const welcome = encodeMessage({ type: 'welcome', version: 1, server: 'hostile', maxFrame: 65536, heartbeat: 0 });
const owned = fc.subarray([...TABLE_POOL]);

/** A server's stream: welcome, then a ruleset answer that is oversized, truncated, lying or fine, or hostile bytes. */
const serverStream = fc.oneof(
  hostileInput.map((b) => Buffer.concat([welcome, b])),
  fc.tuple(validRuleset, fc.constantFrom('fine', 'truncated', 'oversized', 'lying-length', 'size-field'), fc.nat()).map(([r, how, n]) => {
    const bytes = rulesetBytes(r).subarray(0, MAX_RULESET);
    let frame = rulesetFrame(1, bytes);
    if (how === 'truncated') frame = frame.subarray(0, n % frame.length);
    if (how === 'oversized') frame = rulesetFrame(1, Buffer.alloc(MAX_RULESET + 1 + (n % 100_000), 0x20));
    if (how === 'lying-length') frame.writeUInt32BE([0, 1, 0xffff_ffff, 70_000, frame.length][n % 5]!, 0);
    if (how === 'size-field') frame = Buffer.from(frame.toString('latin1').replace(/"size":\d+/, `"size":${n % 10_000}`), 'latin1');
    return Buffer.concat([welcome, frame]);
  }),
);

test(`agent side: ${RUNS} hostile server answers through the real decoder, answer checks, verification and plan`, (t) => {
  const share = (f: number) => Math.max(1, Math.round(RUNS * f));
  const counts = { frames: 0, planned: 0, valid: 0, mismatched: 0, commands: 0, proofs: 0, forgedTags: 0, deltas: 0, deltasUsed: 0 };

  // 1. Byte streams: frames over the limit, cut short or lying; only NftSyncError, never a wait over the limit.
  fc.assert(
    fc.property(serverStream, fc.array(fc.nat(), { maxLength: 4 }), fc.boolean(), owned, (stream, cuts, fetching, own) => {
      counts.frames++;
      if (agentSide(stream, cuts, fetching, own) === 'applied-plan') counts.planned++;
    }),
    { numRuns: share(0.45), seed: 4243 },
  );

  // 2. Rulesets that pass the schema: verified, and the plan touches declared and owned tables only,
  //    creating (never resetting) a declared table the agent does not own.
  fc.assert(
    fc.property(validRuleset, owned, (r, own) => {
      counts.valid++;
      const bytes = rulesetBytes(r);
      const { ruleset } = verifyRevision(bytes, gitBlobId(bytes), { ruleset: 'default', commit: 'c'.repeat(40) });
      const declared = managedTables(ruleset);
      assertBatchConfined(buildApplyTransaction(ruleset, own), declared, own);
      assert.deepEqual(tablesToCreate(declared, own).map(key), declared.filter((d) => !own.some((o) => key(o) === key(d))).map(key));
    }),
    { numRuns: share(0.15), seed: 11 },
  );

  // 3. Bytes that do not match their blob id: always refused as such, before parsing.
  fc.assert(
    fc.property(validRuleset, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, pos, delta) => {
      counts.mismatched++;
      const bytes = rulesetBytes(r);
      const sent = Buffer.from(bytes);
      const i = pos % sent.length;
      sent[i] = (sent[i]! + delta) & 0xff;
      assert.throws(() => verifyRevision(sent, gitBlobId(bytes), { ruleset: 'default', commit: 'c'.repeat(40) }), { code: 'NFTSYNC_ERR_VERIFY_BLOB_MISMATCH' });
    }),
    { numRuns: share(0.1), seed: 12 },
  );

  // 4. Rulesets carrying flush, delete, reset, rename, replace ... items, undeclared tables or extra keys: always refused by the schema.
  fc.assert(
    fc.property(commandRuleset, (r) => {
      counts.commands++;
      const bytes = rulesetBytes(r);
      assert.throws(() => verifyRevision(bytes, gitBlobId(bytes), { ruleset: 'default', commit: 'c'.repeat(40) }), { code: 'NFTSYNC_ERR_RULESET_SCHEMA' }, r.kind);
    }),
    { numRuns: share(0.2), seed: 13 },
  );

  // 5. Release proofs truncated, reordered, altered, forged or claiming something else: refused;
  //    a forged outermost tag (its id recomputed) passes the chain only with another signed payload,
  //    which the signature check (ssh-keygen) then refuses.
  const good = releaseProof(rulesetBytes({ nftables: [{ table: { family: 'inet', name: 'nft_sync' } }] }));
  fc.assert(
    fc.property(proofEdit, (edit) => {
      counts.proofs++;
      const forged = editProof(good, edit);
      if (!forged.changed) return;
      let checked;
      try {
        checked = checkReleaseProof(forged.objects, forged.claim);
      } catch (err) {
        assert.ok(err instanceof NftSyncError, String(err));
        assert.match(err.code, /^NFTSYNC_ERR_VERIFY_(CHAIN|SIGNATURE)$/);
        return;
      }
      assert.ok(edit.how === 'forge' && edit.at === 0, `${JSON.stringify(edit)} passed the chain check`);
      counts.forgedTags++;
      // What the signature check (ssh-keygen) is handed must be the forged tag's own bytes, all
      // of them: the signed payload is the object up to its signature block and the signature is
      // the rest, so no forged byte can sit where the verifier does not look (a checker that returned
      // the original or a cached tag, or dropped bytes after the signature, fails here).
      const forgedTag = forged.objects[0]!.content;
      const payload = checked.tag.payload;
      assert.ok(forgedTag.subarray(0, payload.length).equals(payload), 'the signed payload is the forged tag\'s own prefix');
      assert.equal(checked.tag.signature ?? '', forgedTag.subarray(payload.length).toString('utf8'), 'the signature is the rest of the forged tag: no byte is outside both');
    }),
    { numRuns: share(0.1), seed: 14 },
  );

  // 6. Delta answers (against the bytes the agent offered) that are malformed, cut short, claim a
  //    size beyond --max-ruleset-bytes or another length, name another base, or rebuild bytes of
  //    another blob id: each is refused with a code (and deltaRefusal sends the agent to a full
  //    fetch), or used only when its bytes hash to the blob announced, never past the limit.
  const DELTA_MAX = 64 * 1024;
  fc.assert(
    fc.property(validRuleset, validRuleset, deltaLie, (r1, r2, lie) => {
      counts.deltas++;
      const base = rulesetBytes(r1);
      const target = rulesetBytes(r2);
      const d = hostileDelta(base, target, lie, DELTA_MAX);
      const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, fetchFrameAllowance({ maxRulesetBytes: DELTA_MAX, proof: false }));
      reader.write(deltaFrame(1, d.body, d));
      const m = reader.read();
      assert.ok(m !== undefined && m.message.type === 'ruleset');
      let answer: { result?: FetchResult; error?: NftSyncError };
      try {
        answer = { result: fetchResult(m.message, m.body, { maxRulesetBytes: DELTA_MAX, proof: false, base: { blob: gitBlobId(base), bytes: base } }) };
      } catch (err) {
        assert.ok(err instanceof NftSyncError, String(err));
        assert.match(err.code, /^NFTSYNC_ERR_(MSG_INVALID|RULESET_TOO_LARGE)$/);
        answer = { error: err };
      }
      const refused = deltaRefusal(m.message, answer);
      if (d.honest) assert.equal(refused, undefined, `${lie.how}: an honest delta is used`);
      if (refused !== undefined) return;
      counts.deltasUsed++;
      const bytes = answer.result?.kind === 'ruleset' ? answer.result.bytes : Buffer.alloc(0);
      assert.equal(gitBlobId(bytes), m.message.blob, `${lie.how}: used bytes hash to the announced blob`);
      assert.ok(bytes.length <= DELTA_MAX);
      if (lie.how !== 'wrong-blob') assert.ok(bytes.equals(target), `${lie.how}: used bytes are the target's`);
      assert.doesNotThrow(() => verifyRevision(bytes, m.message.type === 'ruleset' ? m.message.blob : '', { ruleset: 'default', commit: 'c'.repeat(40) }));
    }),
    { numRuns: share(0.05), seed: 15 },
  );

  const total = counts.frames + counts.valid + counts.mismatched + counts.commands + counts.proofs + counts.deltas;
  t.diagnostic(`fuzz (agent side): ${total} inputs ${JSON.stringify(counts)}`);
  assert.ok(counts.planned > 0, 'some well-formed answers reach the plan');
  assert.ok(counts.deltasUsed > 0 && counts.deltasUsed < counts.deltas, 'some deltas are honest, most are refused');
});
