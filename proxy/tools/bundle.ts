import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { builtinsByRequire } from './builtins-by-require.js';

/**
 * The production proxy as one ESM file, dist/proxy/weft-proxy.mjs, bundled from tsc's output
 * (dist/proxy/main.js) with its dependencies (`npm run build` runs this after tsc). A sidecar runs
 * in every pod, so its idle memory counts many times over: unbundled, Node resolves and reads about
 * 130 files at start, CommonJS ones through its module resolver (whose path functions start-up makes
 * hot enough for TurboFan to compile) and ESM imports of CommonJS through the WASM cjs-module-lexer;
 * bundled, none of that runs. The figures are in docs/performance.md.
 *
 * Not bundle-aware, so not to be used in the proxy: pino transports (their worker threads load files
 * by `__dirname`, which an ES module bundle does not define); the proxy logs synchronously to stdout.
 */

const repoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles `<distProxyDir>/main.js` (tsc's output) into `outfile`, which then needs no node_modules:
 * the SO_ORIGINAL_DST addon is the one file it loads at run time, from beside it
 * (original-dst/build/Release/, where the image copies it).
 */
export async function bundleProxy(distProxyDir: string, outfile: string): Promise<number> {
  const result = await build(proxyBuildOptions(distProxyDir, outfile));
  return Object.values(result.metafile!.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
}

export function proxyBuildOptions(distProxyDir: string, outfile: string): BuildOptions {
  return {
    entryPoints: [join(distProxyDir, 'main.js')],
    outfile,
    // Packages resolve from this checkout's node_modules wherever the build output is (tests bundle
    // a build in a temporary directory).
    nodePaths: [join(repoDir, 'node_modules')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax only: function and class names stay as written, for stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    // tsc's source maps chain through, so the map points at the TypeScript.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [builtinsByRequire],
    // The bundled CommonJS (pino, prom-client, undici) requires Node's built-ins, and an ES module has
    // no `require`. process.getBuiltinModule, not an import of node:module (builtins-by-require.ts).
    banner: {
      js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
    },
    define: {
      // The addon's place relative to this one file, not to the module the code came from
      // (proxy/original-dst/original-dst.ts).
      WEFT_BUNDLE_ORIGINAL_DST_ADDON: JSON.stringify('./original-dst/build/Release/original_dst.node'),
    },
  };
}

async function main(): Promise<void> {
  const outfile = join(repoDir, 'dist', 'proxy', 'weft-proxy.mjs');
  const bytes = await bundleProxy(join(repoDir, 'dist', 'proxy'), outfile);
  console.log(`bundled ${relative(repoDir, outfile)} (${Math.round(bytes / 1024)} KiB)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
