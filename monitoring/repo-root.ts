/**
 * Where the repository is, found from this module's own location so the generators and tests
 * work from any working directory (they run from dist/monitoring/... or dist/test/...).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Thrown when no rtc-scale package.json is found above this module. */
export class RepoRootNotFoundError extends Error {
  override name = 'RepoRootNotFoundError';
}

/** The repository root: the nearest directory above this module with rtc-scale's package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rtc-scale') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new RepoRootNotFoundError(`no rtc-scale package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
