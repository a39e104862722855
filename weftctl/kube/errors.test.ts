import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodes } from '../cli-error.js';
import { apiFailure, apiMessage } from './errors.js';

const server = 'https://127.0.0.1:16443';
/** A failed request as @kubernetes/client-node reports it: the HTTP status, the Status body as text. */
const httpError = (code: number, message: string): object => ({
  code,
  body: JSON.stringify({ kind: 'Status', message }),
});
const refused = Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });

describe('API errors for weftctl users', () => {
  it("reads the API server's own message, else the network cause", () => {
    assert.equal(apiMessage(httpError(422, 'spec.x: Invalid value')), 'spec.x: Invalid value');
    assert.equal(apiMessage(refused), 'ECONNREFUSED');
  });

  it('names the cluster it cannot reach and how to reach it, exit 3', () => {
    const err = apiFailure('list meshes.mesh.weft.dev', refused, server);
    assert.equal(err.exitCode, exitCodes.unavailable);
    assert.match(
      err.message,
      /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:16443 \(ECONNREFUSED\)/,
    );
    assert.match(err.message, /--kubeconfig or \$KUBECONFIG.*npm run cluster -- up/);
  });

  it('says what was forbidden, with the caller’s hint or the rights an install needs, exit 3', () => {
    const forbidden = httpError(403, 'virtualservices is forbidden: User "dev" cannot list');
    const install = apiFailure('apply CustomResourceDefinition meshes.mesh.weft.dev', forbidden, server);
    assert.equal(install.exitCode, exitCodes.unavailable);
    assert.match(
      install.message,
      /^not allowed to apply .*\(HTTP 403: virtualservices is forbidden.*cluster-admin/,
    );
    const analyze = apiFailure('list virtualservices.networking.weft.dev', forbidden, server, {
      forbiddenHint: 'use a kubeconfig whose user may',
    });
    assert.match(analyze.message, /; use a kubeconfig whose user may$/);
  });

  it('treats a server error as the cluster being unavailable (exit 3), a refused request as a problem (exit 1)', () => {
    assert.equal(apiFailure('list meshes', httpError(503, 'etcd is unavailable'), server).exitCode, 3);
    const invalid = apiFailure('apply Mesh default', httpError(422, 'spec.version: Invalid value'), server);
    assert.equal(invalid.exitCode, exitCodes.problems);
    assert.equal(invalid.message, 'apply Mesh default failed with HTTP 422: spec.version: Invalid value');
  });
});
