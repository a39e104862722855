import { processIo } from './io.js';
import { run } from './run.js';

/** weftctl: the CLI entry point (bin/weftctl.js runs it, from the source or the build). */
const code = await run(process.argv.slice(2), processIo, process.env);
// Let stdout drain (a pipe into kubectl) before exiting with the command's code.
process.exitCode = code;
