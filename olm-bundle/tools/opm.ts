import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { bundleDir, repoDir } from './inputs.js';

/**
 * A further check with a second real tool (ADR 0010): opm renders the bundle directory into a
 * file-based catalog (FBC) with the package, its default channel and the bundle as that channel's
 * only entry, the catalog docs/install/olm.md builds by hand, and `opm validate` checks it. It
 * catches what a catalog would refuse (package, channel and bundle names that do not line up,
 * bundle properties opm cannot derive), which bundle validation does not look at.
 *
 * The bundle image is a placeholder (`--alpha-image-ref-template`): FBC bundles must name one, and
 * the bundle image is not published yet.
 */
export const BUNDLE_IMAGE_TEMPLATE = 'ghcr.io/weft-dev/weft-bundle:v{{.Version}}';

interface RenderedBundle {
  schema?: string;
  name?: string;
  package?: string;
}

/** The channel blob for the rendered bundles: each bundle of `pkg` an entry of `channel`. */
export function channelBlob(pkg: string, channel: string, bundles: readonly RenderedBundle[]): string {
  const entries = bundles
    .filter((b) => b.schema === 'olm.bundle' && b.package === pkg)
    .map((b) => ({ name: b.name }));
  if (entries.length === 0) throw new Error(`opm render produced no olm.bundle of package ${pkg}`);
  return stringify({ schema: 'olm.channel', package: pkg, name: channel, entries });
}

function run(
  opm: string,
  args: readonly string[],
  log: (line: string) => void,
): { ok: boolean; stdout: string } {
  log(`$ opm ${args.join(' ')}`);
  const res = spawnSync(opm, args, { cwd: repoDir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  for (const line of res.stderr.split('\n')) if (line) log(line);
  return { ok: res.status === 0, stdout: res.stdout };
}

/** Renders, assembles and validates the catalog in a temporary directory; true when opm accepts it. */
export function validateCatalog(
  opm: string,
  pkg: string,
  channel: string,
  log: (line: string) => void,
): boolean {
  const work = mkdtempSync(join(tmpdir(), 'weft-fbc-'));
  try {
    const dir = join(work, 'catalog', pkg);
    mkdirSync(dir, { recursive: true });
    const init = run(opm, ['init', pkg, `--default-channel=${channel}`, '--output=yaml'], log);
    const rendered = run(
      opm,
      [
        'render',
        `./${relative(repoDir, bundleDir)}`,
        '--output=yaml',
        `--alpha-image-ref-template=${BUNDLE_IMAGE_TEMPLATE}`,
      ],
      log,
    );
    if (!init.ok || !rendered.ok) return false;
    const bundles = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as RenderedBundle);
    const index = `${init.stdout}---\n${rendered.stdout}---\n${channelBlob(pkg, channel, bundles)}`;
    writeFileSync(join(dir, 'index.yaml'), index);
    log(
      `wrote the catalog ${join(dir, 'index.yaml')}: olm.package ${pkg}, olm.channel ${channel}, ${bundles.map((b) => b.name).join(', ')}`,
    );
    const validated = run(opm, ['validate', join(work, 'catalog')], log);
    return validated.ok;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
