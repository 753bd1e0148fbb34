/**
 * A fake nft for plain unit tests (no root, no namespace): it keeps tables in memory, runs a
 * JSON batch's add/create/delete table commands, `flush chain` (its rules go) and `add` commands
 * on them all or nothing (other commands are ignored), and lists a table as the items
 * added to it. Tests name it "fake nft" where they use it. It can fail any kind of run on
 * demand, and alter what it lists (a ruleset nft "loads differently").
 */
import { NftSyncError } from '../../shared/errors.js';
import type { Ruleset, RulesetItem, TableRef } from '../../shared/ruleset/ruleset-types.js';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { NftProcess, NftResult, NftRunHooks, NftRunner } from '../../host/nft-runner.js';

type Cmd = Record<string, Record<string, Record<string, unknown>>>;

export interface FakeNft extends NftRunner {
  /** Tables by `family name`, with the items added to each. */
  readonly tables: Map<string, RulesetItem[]>;
  /** Every batch applied (committed), parsed. */
  readonly applied: { nftables: Cmd[] }[];
  /** Every table listed (`family name`), in order: shows that a read-back really ran. */
  readonly listed: string[];
  /** Make the next runs of a kind fail with this error (until cleared). */
  fail: { apply?: NftSyncError; listTable?: NftSyncError; listTables?: NftSyncError };
  /** Rewrites what listTable returns (default: as added). */
  alterListing?: (doc: Ruleset) => Ruleset;
  /** Every long-running process started (monitor, spawnBeside), in order. */
  readonly processes: FakeProcess[];
}

/**
 * A fake long-running process: its stdout and stderr are written by the test, what is written
 * to its stdin is kept; kill() closes it (code null, the signal) as a real one would.
 */
export class FakeProcess extends EventEmitter implements NftProcess {
  readonly pid = undefined;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly argv: readonly string[];
  /** What was written to stdin. */
  written = '';
  killed = false;

  constructor(argv: readonly string[]) {
    super();
    this.argv = argv;
    this.stdin.on('data', (c: Buffer) => (this.written += c.toString()));
  }

  /** Print `line` on stdout. */
  print(line: string): void {
    this.stdout.write(`${line}\n`);
  }

  /** End as if the process exited with `code`. */
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.emit('close', code, signal));
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.killed) return false;
    this.killed = true;
    this.exit(null, signal);
    return true;
  }
}

const key = (t: Record<string, unknown>) => `${String(t.family)} ${String(t.name)}`;

/** A fake nft holding no tables. */
export function fakeNft(): FakeNft {
  const tables = new Map<string, RulesetItem[]>();
  const applied: { nftables: Cmd[] }[] = [];
  const runner: FakeNft = {
    argv: ['fake-nft'],
    tables,
    applied,
    listed: [],
    fail: {},
    processes: [],
    async run(): Promise<NftResult> {
      throw new NftSyncError('NFTSYNC_ERR_NFT_EXEC', 'the fake nft runs no raw commands');
    },
    async applyJson(json) {
      if (runner.fail.apply) throw runner.fail.apply;
      const batch = JSON.parse(typeof json === 'string' || Buffer.isBuffer(json) ? json.toString() : JSON.stringify(json)) as { nftables: Cmd[] };
      const next = new Map([...tables].map(([k, v]) => [k, [...v]]));
      for (const cmd of batch.nftables) {
        const [verb, what] = Object.entries(cmd)[0]!;
        const [kind, body] = Object.entries(what)[0]!;
        if (kind === 'table') {
          const k = key(body);
          if (verb === 'create' && next.has(k)) throw new NftSyncError('NFTSYNC_ERR_NFT_APPLY', `create table ${k}: File exists`, { data: { stderr: 'Error: Could not process rule: File exists' } });
          if (verb === 'delete') next.delete(k);
          else if (!next.has(k)) next.set(k, []);
          continue;
        }
        if (verb === 'flush' && kind === 'chain') {
          const k = key({ family: body.family, name: body.table });
          const items = next.get(k);
          if (!items) throw new NftSyncError('NFTSYNC_ERR_NFT_APPLY', `flush chain: no table ${k}`, { data: { stderr: 'Error: No such file or directory' } });
          next.set(k, items.filter((i) => !('rule' in i && (i.rule as { chain?: unknown }).chain === body.name)));
          continue;
        }
        if (verb !== 'add') continue;
        const k = key({ family: body.family, name: body.table });
        const items = next.get(k);
        if (!items) throw new NftSyncError('NFTSYNC_ERR_NFT_APPLY', `add ${kind}: no table ${k}`, { data: { stderr: 'Error: No such file or directory' } });
        items.push({ [kind]: body } as unknown as RulesetItem);
      }
      tables.clear();
      for (const [k, v] of next) tables.set(k, v);
      applied.push(batch);
    },
    async checkJson() {},
    async listTables(): Promise<TableRef[]> {
      if (runner.fail.listTables) throw runner.fail.listTables;
      return [...tables.keys()].map((k) => {
        const [family, name] = k.split(' ') as [TableRef['family'], string];
        return { family, name };
      });
    },
    async listTable(family, name) {
      runner.listed.push(`${family} ${name}`);
      if (runner.fail.listTable) throw runner.fail.listTable;
      const items = tables.get(`${family} ${name}`);
      if (!items) throw new NftSyncError('NFTSYNC_ERR_NFT_LIST', `no table ${family} ${name}`);
      const doc: Ruleset = { nftables: [{ table: { family, name } } as unknown as RulesetItem, ...items] };
      return runner.alterListing ? runner.alterListing(doc) : doc;
    },
    withHooks(_hooks: NftRunHooks) {
      return runner;
    },
    monitor() {
      const p = new FakeProcess(['fake-nft', '-j', 'monitor']);
      runner.processes.push(p);
      return p;
    },
    spawnBeside(program) {
      const p = new FakeProcess(program);
      runner.processes.push(p);
      return p;
    },
    async warm() {},
    async close() {},
  };
  return runner;
}
