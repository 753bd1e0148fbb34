/**
 * The layering check (`npm run lint:layers`, part of `npm test`): the folders are layers and
 * these rules say which may import which. docs/architecture.md explains them.
 *   shared/  pure core: imports only shared/ and pure packages (PURE_PACKAGES), no IO built-in
 *   host/    host-side IO both the server and the agent use (nft, scratch namespaces, git)
 *   server/, agent/  never import each other or cli/
 *   cli/     may import anything, but from server/ only its entry points (the files at the top
 *            of server/); the API's types come from shared/
 */
/** Node built-ins that do IO (files, processes, sockets, threads); shared/ imports none. */
const IO_BUILTINS = '^(node:)?(fs|fs/promises|child_process|net|tls|http|https|http2|dgram|dns|dns/promises|os|worker_threads|cluster|readline|repl|inspector|v8|vm|process|perf_hooks|async_hooks|module)$';

/** The packages shared/ may import: pure computation. */
const PURE_PACKAGES = 'node_modules/(ajv|yaml|@sinclair/typebox)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make load order matter and layers meaningless.', from: {}, to: { circular: true } },
    { name: 'no-unresolvable', severity: 'error', comment: 'Every relative import resolves to a file.', from: {}, to: { couldNotResolve: true } },
    {
      name: 'shared-imports-only-shared', severity: 'error',
      comment: 'shared/ is the pure core: it imports nothing of server/, agent/, host/ or cli/.',
      from: { path: '^shared/' }, to: { path: '^(server|agent|host|cli)/' },
    },
    {
      name: 'shared-no-io', severity: 'error',
      comment: 'shared/ is pure: no file system, processes, sockets or threads.',
      from: { path: '^shared/' }, to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'shared-only-pure-packages', severity: 'error',
      comment: 'shared/ uses only packages that compute (schemas, YAML), none that log, serve or run git.',
      from: { path: '^shared/' }, to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'], pathNot: PURE_PACKAGES },
    },
    {
      name: 'host-imports-only-shared-and-host', severity: 'error',
      comment: 'host/ is IO both sides use; it knows nothing of the server, the agent or the CLI.',
      from: { path: '^host/' }, to: { path: '^(server|agent|cli)/' },
    },
    {
      name: 'server-not-agent-or-cli', severity: 'error',
      comment: 'The server never imports the agent or the CLI (the nft runner and scratch namespaces are in host/).',
      from: { path: '^server/' }, to: { path: '^(agent|cli)/' },
    },
    {
      name: 'agent-not-server-or-cli', severity: 'error',
      comment: 'The agent never imports the server or the CLI.',
      from: { path: '^agent/' }, to: { path: '^(server|cli)/' },
    },
    {
      name: 'cli-only-server-entry-points', severity: 'error',
      comment: 'The CLI reaches the server only through the files at the top of server/ (start-server.ts, tools.ts); the API types come from shared/.',
      from: { path: '^cli/' }, to: { path: '^server/[^/]+/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
