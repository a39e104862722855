import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importedNames } from './builtins-by-require.js';

describe('importedNames (what the bundle requires of each built-in)', () => {
  it('collects the named imports of one specifier across statements, by their exported names', () => {
    const code = [
      "import { connect as tlsConnect, createSecureContext } from 'node:tls';",
      "import { createServer } from 'node:net';",
      "import { connect } from 'node:tls';",
    ].join('\n');
    assert.deepEqual(importedNames(code, 'node:tls'), ['connect', 'createSecureContext']);
    assert.deepEqual(importedNames(code, 'node:net'), ['createServer']);
  });

  it('reads a named import list tsc wrapped over several lines', () => {
    const code = "import {\n  a,\n  b,\n} from 'node:util';";
    assert.deepEqual(importedNames(code, 'node:util'), ['a', 'b']);
  });

  it('gives up on default and namespace imports, which stay ES module imports', () => {
    assert.equal(importedNames("import fs from 'node:fs';", 'node:fs'), undefined);
    assert.equal(importedNames("import * as fs from 'node:fs';", 'node:fs'), undefined);
    assert.equal(importedNames("import fs, { readFileSync } from 'node:fs';", 'node:fs'), undefined);
  });

  it('finds nothing for a specifier the code does not import by name', () => {
    assert.equal(importedNames("import 'node:fs';", 'node:fs'), undefined);
    assert.equal(importedNames("import { a } from 'node:fs/promises';", 'node:fs'), undefined);
  });
});
