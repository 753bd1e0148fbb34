/**
 * The drift listener process (agent/drift/nft-events.py): nf_tables netlink events of the agent's
 * namespace, one line per committed transaction with its generation id and committing PID.
 *
 * The nft runner starts it (NftRunner.spawnBeside, host/nft-runner.ts), like nft itself: through
 * the namespace prefix of the --nft command (the words before the final `nft`, e.g. `ip netns
 * exec host1`, which execs), behind `setpriv --pdeathsig KILL`, so it dies with the agent even on
 * SIGKILL, and a test can hand over a fake runner; it also exits when its stdin (a pipe from the agent) closes. A listener
 * that dies is restarted; its first line then carries the generation id, so the watcher knows
 * whether anything committed while nobody listened.
 *
 * pause()/resume() take it out of the multicast group around the agent's own big loads: while
 * anyone in the group listens, the kernel builds and delivers an event per element (a
 * 1,000,000-element load took 6-31 s instead of 4 s here).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../host/package-root.js';
import { NftSyncError } from '../../shared/errors.js';
import { parseListenerLine, type ListenerLine } from '../../shared/wire/listener-line.js';
import type { DriftEventSource, DriftSignal } from './drift-signal.js';
import { findOnPath, namespacePrefix, type NftProcess, type NftRunner } from '../../host/nft-runner.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** An answer to a command that does not come within this long means the listener is stuck. */
const ANSWER_MS = AGENT_DEFAULTS.drift.listenerAnswerMs;
/** Pause before restarting a listener that died; doubled per failure in a row, up to RESTART_MAX_MS. */
const RESTART_MS = AGENT_DEFAULTS.drift.listenerRestartMs;
const RESTART_MAX_MS = AGENT_DEFAULTS.drift.listenerRestartMaxMs;
/** After this many exits in a row before it was ready, the listener counts as unavailable. */
const MAX_EARLY_EXITS = AGENT_DEFAULTS.drift.listenerMaxEarlyExits;

/** The listener script, found from the package root (works from the sources and from dist/). */
export function listenerScript(): string {
  return join(packageRoot(), 'agent', 'drift', 'nft-events.py');
}

/**
 * The listener program (python3 and the script) to run beside `nft` (NftRunner.spawnBeside).
 * Errors: NFTSYNC_ERR_DRIFT_LISTENER when the --nft command's last word is not `nft` (its
 * namespace prefix is then unknown), python3 is not installed, or the script is missing.
 */
export function listenerProgram(nft: Pick<NftRunner, 'argv'>): string[] {
  try {
    namespacePrefix(nft.argv);
  } catch {
    throw new NftSyncError('NFTSYNC_ERR_DRIFT_LISTENER', `the --nft command ${JSON.stringify(nft.argv.join(' '))} does not end in nft, so the namespace to listen in is unknown`);
  }
  // /usr/bin/python3 first: a python3 earlier on PATH may be a shim (pyenv) that forks.
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : findOnPath('python3');
  if (python === undefined) throw new NftSyncError('NFTSYNC_ERR_DRIFT_LISTENER', 'python3 is not installed: install the python3 package (scripts/setup.sh does)');
  const script = listenerScript();
  if (!existsSync(script)) throw new NftSyncError('NFTSYNC_ERR_DRIFT_LISTENER', `the listener script ${script} is missing: reinstall nft-sync`);
  return [python, script];
}

type Waiter = { tag: 'paused' | 'resumed' | 'gen' | 'ready'; resolve: (l: ListenerLine | undefined) => void };

export class NetlinkEvents implements DriftEventSource {
  readonly exact = true;
  readonly #nft: NftRunner;
  readonly #program: string[];
  readonly #onSignal: (s: DriftSignal) => void;
  readonly #onError: (message: string) => void;
  #child: NftProcess | undefined;
  #ready = false;
  #stopped = false;
  #held = false;
  #earlyExits = 0;
  #restart: NodeJS.Timeout | undefined;
  #waiters: Waiter[] = [];
  #stderr = '';
  readonly #killed = new WeakSet<NftProcess>();

  /**
   * A listener `nft` starts (NftRunner.spawnBeside) from `program` (listenerProgram); `onSignal`
   * gets every event; `onError` a line to log when it fails.
   */
  constructor(nft: NftRunner, program: string[], onSignal: (s: DriftSignal) => void, onError: (message: string) => void) {
    this.#nft = nft;
    this.#program = program;
    this.#onSignal = onSignal;
    this.#onError = onError;
  }

  /** The PID of the listener process now (tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#stopped || this.#held || this.#child) return;
    let child: NftProcess;
    try {
      child = this.#nft.spawnBeside(this.#program);
    } catch (err) {
      this.#onError(`the drift listener could not start: ${(err as Error).message}`);
      return;
    }
    this.#child = child;
    this.#ready = false;
    this.#stderr = '';
    child.stdin!.on('error', () => {}); // a dead listener is handled on 'close'
    child.stderr!.on('data', (c: Buffer) => (this.#stderr = (this.#stderr + c.toString()).slice(-2000)));
    child.on('error', (err) => this.#onError(`the drift listener could not start: ${err.message}`));
    child.on('close', (code, signal) => this.#closed(child, code, signal));
    createInterface({ input: child.stdout! }).on('line', (text) => this.#line(text));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restart);
    this.#kill();
  }

  /**
   * Leave the event group until resume(). Resolves with the generation id of the last
   * transaction seen, or undefined when no listener was running (it then stays stopped).
   */
  async pause(): Promise<number | undefined> {
    this.#held = true;
    clearTimeout(this.#restart);
    if (!this.#child) return undefined;
    if (!this.#ready) {
      this.#kill();
      return undefined;
    }
    const l = await this.#ask('paused', 'pause');
    return l?.t === 'paused' ? l.gen : undefined;
  }

  /** Join the event group again (or start a listener). Resolves with the generation id now, or undefined. */
  async resume(): Promise<number | undefined> {
    this.#held = false;
    if (this.#stopped) return undefined;
    if (this.#child && this.#ready) {
      const l = await this.#ask('resumed', 'resume');
      return l?.t === 'resumed' ? l.gen : undefined;
    }
    const ready = this.#wait('ready');
    this.start();
    const l = await ready;
    return l?.t === 'ready' ? l.gen : undefined;
  }

  /** The generation id now and of the last transaction seen, or undefined when not listening. */
  async generation(): Promise<{ gen: number; seen: number } | undefined> {
    if (!this.#child || !this.#ready || this.#held) return undefined;
    const l = await this.#ask('gen', 'gen');
    return l?.t === 'gen' ? { gen: l.gen, seen: l.seen } : undefined;
  }

  #ask(tag: Waiter['tag'], command: string): Promise<ListenerLine | undefined> {
    const p = this.#wait(tag);
    this.#child?.stdin?.write(`${command}\n`);
    return p;
  }

  /** The next line tagged `tag`; undefined when the listener dies or stays silent ANSWER_MS (it is then killed). */
  #wait(tag: Waiter['tag']): Promise<ListenerLine | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onError(`the drift listener did not answer ${tag} within ${ANSWER_MS} ms; restarting it`);
        this.#kill();
        done(undefined);
      }, ANSWER_MS);
      const done = (l: ListenerLine | undefined) => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(l);
      };
      const waiter: Waiter = { tag, resolve: done };
      this.#waiters.push(waiter);
    });
  }

  #line(text: string): void {
    const parsed = parseListenerLine(text);
    if (!parsed.ok) {
      this.#onError(`the drift listener printed an unexpected line (${parsed.reason}): ${text.slice(0, 200)}`);
      return;
    }
    const l = parsed.line;
    if (l.t === 'ready') {
      this.#ready = true;
      this.#earlyExits = 0;
    }
    const w = this.#waiters.find((x) => x.tag === l.t);
    if (w) w.resolve(l);
    if (l.t === 'ready') this.#onSignal({ kind: 'ready', gen: l.gen });
    else if (l.t === 'tx') this.#onSignal({ kind: 'tx', tx: l });
    else if (l.t === 'lost') this.#onSignal({ kind: 'lost' });
  }

  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    this.#ready = false;
    if (child) this.#killed.add(child);
    child?.kill('SIGKILL');
  }

  #closed(child: NftProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const wasReady = this.#child === child ? this.#ready : true;
    if (this.#child === child) {
      this.#child = undefined;
      this.#ready = false;
    }
    for (const w of [...this.#waiters]) w.resolve(undefined);
    if (this.#stopped) return;
    this.#onSignal({ kind: 'down' });
    if (!wasReady && ++this.#earlyExits >= MAX_EARLY_EXITS) {
      this.#onSignal({ kind: 'unavailable', reason: `the drift listener exited ${this.#earlyExits} times before listening (code ${String(code)}, signal ${String(signal)}): ${this.#stderr.trim().slice(-500)}` });
      return;
    }
    if (!this.#killed.has(child)) this.#onError(`the drift listener stopped (code ${String(code)}, signal ${String(signal)})${this.#stderr ? `: ${this.#stderr.trim().slice(-500)}` : ''}; restarting it`);
    if (this.#held) return;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MS * 2 ** this.#earlyExits);
    this.#restart = setTimeout(() => this.start(), delay);
  }
}
