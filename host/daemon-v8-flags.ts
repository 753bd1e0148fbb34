/**
 * V8 flags the long-running commands set once their modules are loaded (cli/main.ts; bench/ sets
 * the server's for the servers it runs in its own process, as a server on a host has them).
 *
 * `--no-flush-bytecode` (both daemons): V8 drops the bytecode (and with it the compiled code) of
 * functions that have not run for a few collections. A path that runs once a second or less, such
 * as an element API change to a big set on the server and the agent's answer to it, was then
 * parsed, compiled and optimised again at every change: its plan took 6-16 ms where 2-4 ms is its
 * own cost, and the recompiling kept a core busy while the blob-id workers hashed 25 MB on both
 * sides. Kept, it costs the bytecode of the functions that ran (well under a megabyte).
 */
export const DAEMON_V8_FLAGS: readonly string[] = ['--no-flush-bytecode'];

/**
 * The server's, besides DAEMON_V8_FLAGS. `--no-memory-reducer`: when the allocation rate drops,
 * V8 starts a full marking of the heap to shrink it, on its helper threads; on a server that
 * takes element changes a second apart it ran between and into them (about 20 ms of a core per
 * change, while the blob-id workers of the server and its agents hashed), so the change's path
 * waited for a core. The server's heap then shrinks at the collections its allocations start.
 * The agent keeps the reducer: its idle memory matters more (bench: idle RSS).
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--no-memory-reducer'];
