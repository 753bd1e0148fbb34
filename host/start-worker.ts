/**
 * Start a worker thread from a module beside the caller: the compiled `.js` file in production,
 * or the `.ts` source through tsx (tests and benches run the sources).
 */
import { Worker } from 'node:worker_threads';

/** A Worker running `name` (without extension) resolved against `base` (the caller's import.meta.url). */
export function startWorker(base: string, name: string): Worker {
  const fromSource = base.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, base);
  if (!fromSource) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true });
}
