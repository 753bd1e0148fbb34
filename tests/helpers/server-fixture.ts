import assert from 'node:assert/strict';
/**
 * A real nft-sync server on a real git repository for integration tests: a bare repository made
 * by initRepository from repo-template/, a working clone to commit and push with the stock git
 * client, and the server listening on loopback. Everything is stopped and removed after the
 * test, pass or fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { initRepository } from '../../server/git/init-repository.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/start-server.js';
import { testGitEnv } from './git-fixture.js';

export interface ServerFixture {
  dir: string;
  bare: string;
  clone: string;
  server: RunningServer;
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT/git/rules.git` when started with `http`. */
  gitUrl: string | undefined;
  /** Write files (path relative to the clone) and commit them; returns the commit id. */
  commit(files: Record<string, string | Buffer>, message?: string): string;
  /** Commit and `git push origin main` with the stock client; returns the commit id. */
  push(files: Record<string, string | Buffer>, message?: string): string;
  /**
   * Put a commit on a branch of the bare repository without any receive hook (as a broken or
   * compromised path into the repository would), by fetching it from the clone.
   */
  forceIntoBare(files: Record<string, string | Buffer>, message?: string): string;
  git(args: string[], cwd?: string): string;
  /** Stop the server (to simulate an outage); `restart` brings it back on the same port. */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export const quietLogger = pino({ level: process.env.NFT_SYNC_TEST_LOG ?? 'silent' });

/**
 * Start a server on a fresh repository made from repo-template/. The pre-receive validator hook
 * is installed only when `options.installHook` is true: most tests push many small commits and
 * time what follows, and the hook (a tsx process from the sources) adds about a second a push.
 */
export async function startServerFixture(t: Pick<TestContext, 'after'>, options: Partial<ServerOptions> = {}): Promise<ServerFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-srv-'));
  let server: RunningServer | undefined;
  t.after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bare = join(dir, 'rules.git');
  const clone = join(dir, 'clone');
  await initRepository(bare, 'repo-template');
  const git = (args: string[], cwd = clone) =>
    execFileSync('git', args, { cwd, env: testGitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git(['clone', '-q', bare, clone], dir);
  const start = (port: number) =>
    startServer({ repo: bare, listen: { host: '127.0.0.1', port }, logger: quietLogger, installHook: false, ...options });
  server = await start(0);
  const port = server.wireAddress.port;
  const commit = (files: Record<string, string | Buffer>, message = 'change') => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(clone, path)), { recursive: true });
      writeFileSync(join(clone, path), content);
    }
    git(['add', '-A']);
    git(['commit', '-q', '--allow-empty', '-m', message]);
    return git(['rev-parse', 'HEAD']);
  };
  const fixture: ServerFixture = {
    dir,
    bare,
    clone,
    get server() {
      return server!;
    },
    host: '127.0.0.1',
    port,
    get gitUrl() {
      const a = server?.httpAddress;
      return a === undefined ? undefined : `http://127.0.0.1:${a.port}/git/rules.git`;
    },
    commit,
    push(files, message) {
      const id = commit(files, message);
      git(['push', '-q', 'origin', 'HEAD:main']);
      return id;
    },
    forceIntoBare(files, message) {
      const id = commit(files, message);
      git(['fetch', '-q', clone, '+HEAD:refs/heads/main'], bare);
      return id;
    },
    git,
    async stop() {
      await server?.close();
      server = undefined;
    },
    async restart() {
      server = await start(port);
    },
  };
  return fixture;
}

/**
 * `add` added to the blocklist `inet nft_sync blk` of ruleset `default` through the element API
 * of the fixture's HTTP listener (started with `http`): the new commit. Fails the test unless the
 * API answers 201.
 */
export async function addElements(f: ServerFixture, add: string[]): Promise<string> {
  const url = `http://127.0.0.1:${f.server.httpAddress!.port}/api/v1/rulesets/default/sets/inet/nft_sync/blk/elements`;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ add }) });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { commit: string }).commit;
}
