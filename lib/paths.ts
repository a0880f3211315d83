import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'db', 'migrations'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`scoreflow project root not found above ${from}`);
  }
}

/** The checkout (or installed package) root: bundled models, migrations and workflows are found from here. */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Resolves a project file that exists as TypeScript in the source tree and as JavaScript once built. */
export function sourceOrBuilt(relativeTs: string): string {
  const here = fileURLToPath(import.meta.url);
  const built = here.includes(`${path.sep}dist${path.sep}`);
  return built
    ? path.join(PROJECT_ROOT, 'dist', relativeTs.replace(/\.ts$/, '.js'))
    : path.join(PROJECT_ROOT, relativeTs);
}

/** scoreflow's cache outside the checkout (`$XDG_CACHE_HOME/scoreflow` or ~/.cache/scoreflow), shared by every clone on the machine. */
export function scoreflowCacheDir(): string {
  return path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'scoreflow');
}
