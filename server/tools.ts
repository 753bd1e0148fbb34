/**
 * The server-side work the CLI's one-shot commands run in-process, without a running server:
 * `nft-sync init` (initRepository, preReceiveHookScript), `nft-sync import` (importRuleset),
 * `nft-sync hook` (preReceiveCheck), `nft-sync pki` (initPki, issueCertificate). With
 * start-server.ts (`nft-sync server`), the only files of server/ the CLI imports; the layering
 * check (.dependency-cruiser.cjs, cli-only-server-entry-points) holds it to that. No fastify here:
 * the hook runs on every push and loads only what it needs.
 */
export { initRepository } from './git/init-repository.js';
export { importRuleset } from './import/import-ruleset.js';
export { initPki, issueCertificate } from './auth/pki.js';
export { GIT_OBJECT_VARS, preReceiveCheck } from './push/pre-receive-check.js';
export { preReceiveHookScript } from './push/pre-receive-hook.js';
