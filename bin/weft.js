#!/usr/bin/env node
// The image's entrypoint: `weft <entrypoint> [flags]` runs one of Weft's processes from the build,
// so one image serves the operator, the control plane, the proxy, the init step and the CLI. Each
// process reads its flags from process.argv, so the entrypoint's name is taken out first.
const ENTRYPOINTS = {
  operator: '../dist/operator/main.js',
  'control-plane': '../dist/controllers/control-plane/main.js',
  // The proxy runs as one bundled file (proxy/tools/bundle.ts): a sidecar's idle memory counts in every pod.
  proxy: '../dist/proxy/weft-proxy.mjs',
  'weft-init': '../dist/proxy/capture/weft-init.js',
  weftctl: '../dist/weftctl/main.js',
};

const name = process.argv[2];
const entry = Object.hasOwn(ENTRYPOINTS, name ?? '') ? ENTRYPOINTS[name] : undefined;
if (!entry) {
  console.error(`usage: weft <${Object.keys(ENTRYPOINTS).join('|')}> [flags]`);
  process.exit(2);
}
process.argv.splice(2, 1);
await import(new URL(entry, import.meta.url).href);
