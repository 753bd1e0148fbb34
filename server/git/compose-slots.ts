/**
 * How many big rulesets are being composed at once (server/git/ruleset-repository.ts): each holds
 * its base and change files in the server's thread and a copy in the worker's
 * (server/git/compose-thread.ts) until its text comes back, and the worker composes one at a
 * time. Without a bound, a client asking for a thousand old revisions of a 25 MB ruleset at once
 * had all their files read and copied at once (tens of GB). Those past the bound wait holding
 * nothing, in the order they came. Pure (no IO).
 */
export class ComposeSlots {
  #taken = 0;
  readonly #waiting: Array<() => void> = [];

  /** @param size slots (at least 1). */
  constructor(readonly size: number) {}

  /** Slots taken now. */
  get taken(): number {
    return this.#taken;
  }

  /** Callers waiting for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Take a slot if one is free at once (then give it back with give()); false otherwise. */
  tryTake(): boolean {
    if (this.#taken >= Math.max(1, this.size)) return false;
    this.#taken++;
    return true;
  }

  /** A slot, once one is free (in the order asked); give it back with give(). */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Give a slot back: handed straight to the first waiting, if any. */
  give(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#taken = Math.max(0, this.#taken - 1);
  }
}
