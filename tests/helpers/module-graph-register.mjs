// `node --import ./tests/helpers/module-graph-register.mjs ...`: records the module graph.
import { register } from 'node:module';

register('./module-graph-hooks.mjs', import.meta.url);
