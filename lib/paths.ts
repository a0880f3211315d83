import fs from 'node:fs';
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
