/**
 * V8 flags the long-running commands (the server and the agent) set once their modules are loaded
 * (cli/main.ts; bench/ sets them for the server it runs in its own process, as a server on a host
 * has them).
 *
 * `--no-flush-bytecode`: V8 drops the bytecode (and with it the compiled code) of functions that
 * have not run for a few collections. A path that runs once a second or less, such as an element
 * API change to a big set on the server and the agent's answer to it, was then parsed, compiled
 * and optimised again at every change: its plan took 6-16 ms where 2-4 ms is its own cost, and the
 * recompiling kept a core busy while the blob-id workers hashed 25 MB on both sides. Kept, it
 * costs the bytecode of the functions that ran (well under a megabyte).
 */
export const DAEMON_V8_FLAGS: readonly string[] = ['--no-flush-bytecode'];
