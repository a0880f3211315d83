import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';

export const INTEGRATION_DIR = path.join(PROJECT_ROOT, 'test', 'integration');

/** The Temporal namespace of an integration test file, registered by the global setup: test-<file name>. */
export function namespaceOfTestFile(file: string): string {
  return `test-${path.basename(file).replace(/\.test\.ts$/, '')}`;
}
