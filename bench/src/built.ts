// The bench measures the packages as users install them: the built `dist` files, which the
// `wsauth-dist` export condition selects. Under the default condition the workspace loads the
// TypeScript sources through tsx, whose output differs: it adds a naming call to many functions.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node flag that makes `@wsauth/*` imports load `dist/index.js`. */
export const BUILT_PACKAGES_FLAG = '--conditions=wsauth-dist';

const PACKAGES_DIR = fileURLToPath(new URL('../../packages/', import.meta.url));

function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function builtAt(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Throws unless every package has a `dist/index.js` at least as new as its sources, so that a
 * run never measures an old build.
 */
export function assertPackagesBuilt(): void {
  const stale: string[] = [];
  for (const name of readdirSync(PACKAGES_DIR)) {
    const dir = join(PACKAGES_DIR, name);
    const built = builtAt(join(dir, 'dist', 'index.js'));
    if (built === undefined || built < newestChange(join(dir, 'src'))) {
      stale.push(`packages/${name}`);
    }
  }
  if (stale.length > 0) {
    throw new Error(
      `The bench loads the built packages, but ${stale.join(', ')} ${stale.length === 1 ? 'has' : 'have'} no dist/index.js or one older than src. Run \`pnpm build\` at the repository root first (\`pnpm bench\` does).`,
    );
  }
}
