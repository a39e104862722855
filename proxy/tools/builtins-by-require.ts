import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';

/**
 * Node's built-in modules through `require`, not `import`: an ES module import of a built-in makes
 * Node build its ESM facade, which reads every export once (tls.rootCertificates parses the ~140
 * bundled root certificates, crypto.webcrypto loads WebCrypto) and keeps a module record per
 * built-in: 0.5 MB of the bundled proxy's idle RSS (docs/performance.md). Each
 * `import { a, b } from 'node:x'` in tsc's output becomes a module of `export const { a, b } = require('node:x')`: the code still binds the functions
 * themselves (no property lookup per call) and reads only the exports it names. A form this does not
 * parse is left to Node's ESM import.
 */
export const builtinsByRequire: Plugin = {
  name: 'node-builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (args.kind !== 'import-statement') return undefined;
      const names = importedNames(readFileSync(args.importer, 'utf8'), args.path);
      if (!names) return { path: args.path, external: true };
      return { path: `${args.path}?${names.join(',')}`, namespace: 'node-builtin', pluginData: { names } };
    });
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const specifier = args.path.slice(0, args.path.indexOf('?'));
      const { names } = args.pluginData as { names: string[] };
      return {
        contents: `const m = require(${JSON.stringify(specifier)});\nexport const { ${names.join(', ')} } = m;\n`,
        loader: 'js',
      };
    });
  },
};

/** The names `code` imports from `specifier` in `import { a, b as c } from '…'` statements; undefined for any other form. */
export function importedNames(code: string, specifier: string): string[] | undefined {
  const names = new Set<string>();
  const statement = /^import\s+([^;]*?)\s+from\s+['"]([^'"]+)['"];?$/gm;
  for (const [, clause, from] of code.matchAll(statement)) {
    if (from !== specifier) continue;
    const named = /^\{([^}]*)\}$/.exec(clause!.trim());
    if (!named) return undefined;
    for (const part of named[1]!.split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0];
      if (name) names.add(name);
    }
  }
  return names.size > 0 ? [...names].sort() : undefined;
}
