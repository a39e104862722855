import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root directory: the first ancestor with Weft's package.json. Found by walking up
 * because this file runs from the source (weftctl/) and from the build (dist/weftctl/).
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'weft'
    )
      return dir;
    if (dirname(dir) === dir) throw new Error(`no Weft package.json above ${from}`);
  }
}

/** The Weft release this CLI belongs to. */
export function weftVersion(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
