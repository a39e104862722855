#!/usr/bin/env node
// weftctl's launcher (package.json "bin"). In a checkout it runs the TypeScript source through tsx
// (a dev dependency, present after npm ci), so the CLI never lags the code; where only the build is
// installed (the image, a production install) it runs dist/.
import { existsSync } from 'node:fs';

const source = new URL('../weftctl/main.ts', import.meta.url);
const compiled = new URL('../dist/weftctl/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

const register = existsSync(source) ? await tsxRegister() : undefined;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error(
    'weftctl: neither tsx with the source nor the build (dist/) is here; run npm ci, or npm run build',
  );
  process.exit(3);
}
