import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { reviewValidation, type AdmissionReview } from '../admission.js';
import { validators } from './index.js';

const repo = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const validate = validators({
  destinationRules: () => [
    {
      apiVersion: 'networking.weft.dev/v1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'bookinfo' },
      spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
    },
  ],
});

function check(obj: object): { errors: string[]; warnings: string[] } {
  const o = obj as KubernetesObject;
  const result = validate.get(o.kind!)!(o);
  return {
    errors: result.errors.map((e) => `${e.field}: ${e.message}`),
    warnings: result.warnings.map((w) => `${w.field}: ${w.message}`),
  };
}

const vs = (http: object[], extra: object = {}) => ({
  apiVersion: 'networking.weft.dev/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'bookinfo' },
  spec: { hosts: ['reviews'], http, ...extra },
});

describe('validation of Weft resources', () => {
  it('accepts every shipped sample (bookinfo, networking, security)', () => {
    for (const dir of ['bookinfo', 'networking', 'security']) {
      for (const file of readdirSync(join(repo, 'crds', 'samples', dir))) {
        for (const doc of parseAllDocuments(readFileSync(join(repo, 'crds', 'samples', dir, file), 'utf8'))) {
          const obj = doc.toJS() as KubernetesObject | null;
          if (!obj?.kind) continue;
          assert.deepEqual(check(obj).errors, [], `${dir}/${file} ${obj.kind}/${obj.metadata?.name}`);
        }
      }
    }
  });

  it('refuses a regex that does not compile, naming the field', () => {
    const { errors } = check(
      vs([{ match: [{ uri: { regex: '^/(api' } }], route: [{ destination: { host: 'reviews' } }] }]),
    );
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /^spec\.http\[0\]\.match\[0\]\.uri\.regex: "\^\/\(api" is not a valid regular expression/,
    );
  });

  it('refuses weights that do not add up to 100', () => {
    const { errors } = check(
      vs([
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 80 },
            { destination: { host: 'reviews', subset: 'v1' }, weight: 10 },
          ],
        },
      ]),
    );
    assert.deepEqual(errors, [
      'spec.http[0].route: the weights add up to 90; they must add up to 100 (adjust them, e.g. 90 and 10)',
    ]);
  });

  it('refuses a duration that does not parse and a retry condition that does not exist', () => {
    const { errors } = check(
      vs([
        {
          route: [{ destination: { host: 'reviews' } }],
          timeout: '10 seconds',
          retries: { attempts: 2, retryOn: '5xx,sometimes' },
        },
      ]),
    );
    assert.equal(errors.length, 2);
    assert.match(
      errors[0]!,
      /^spec\.http\[0\]\.timeout: "10 seconds" is not a duration; write it like 500ms, 1s or 1\.5s/,
    );
    assert.match(errors[1]!, /^spec\.http\[0\]\.retries\.retryOn: "sometimes" is not a retry condition/);
  });

  it('warns, without refusing, when a route names a subset no DestinationRule defines', () => {
    const { errors, warnings } = check(vs([{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }]));
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, [
      'spec.http[0].route[0].destination.subset: no DestinationRule for reviews defines subset "v9"; traffic routed to it fails with 503 until one does',
    ]);
    assert.deepEqual(
      check(vs([{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }])).warnings,
      [],
    );
  });

  it('refuses upper-case header names and the "*" host on mesh routes', () => {
    const { errors } = check({
      ...vs([
        {
          match: [{ headers: { 'End-User': { exact: 'jason' } } }],
          route: [{ destination: { host: 'reviews' } }],
        },
      ]),
      spec: {
        hosts: ['*'],
        http: [
          {
            match: [{ headers: { 'End-User': { exact: 'jason' } } }],
            route: [{ destination: { host: 'reviews' } }],
          },
        ],
      },
    });
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /^spec\.hosts\[0\]: the host "\*" is only allowed for gateways/);
    assert.match(errors[1]!, /headers\[End-User\]: header names are matched in lower case; write "end-user"/);
  });

  it('refuses AuthorizationPolicy features Weft does not enforce, instead of ignoring them', () => {
    const { errors } = check({
      apiVersion: 'security.weft.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'ap', namespace: 'bookinfo' },
      spec: {
        action: 'CUSTOM',
        provider: { name: 'ext' },
        rules: [
          {
            from: [{ source: { requestPrincipals: ['*'], ipBlocks: ['10.0.0.0/33'] } }],
            to: [{ operation: { paths: ['admin'] } }],
            when: [{ key: 'request.auth.claims[iss]', values: ['x'] }],
          },
        ],
      },
    });
    assert.equal(errors.length, 5, errors.join('\n'));
    assert.match(errors.join('\n'), /spec\.action: CUSTOM needs an external authorizer/);
    assert.match(errors.join('\n'), /ipBlocks\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR block/);
    assert.match(errors.join('\n'), /paths\[0\]: "admin" must start with \//);
  });

  it('refuses a DestinationRule duration and a ServiceEntry address that do not parse', () => {
    assert.match(
      check({
        apiVersion: 'networking.weft.dev/v1',
        kind: 'DestinationRule',
        metadata: { name: 'd', namespace: 'n' },
        spec: { host: 'reviews', trafficPolicy: { outlierDetection: { interval: '5 s' } } },
      }).errors[0]!,
      /^spec\.trafficPolicy\.outlierDetection\.interval: /,
    );
    assert.match(
      check({
        apiVersion: 'networking.weft.dev/v1',
        kind: 'ServiceEntry',
        metadata: { name: 's', namespace: 'n' },
        spec: { hosts: ['api.example.com'], addresses: ['300.1.1.1'], resolution: 'STATIC' },
      }).errors[0]!,
      /^spec\.addresses\[0\]: "300\.1\.1\.1" is not an IP address/,
    );
  });
});

describe('DestinationRule connection pool', () => {
  const dr = (tcp: object) => ({
    apiVersion: 'networking.weft.dev/v1',
    kind: 'DestinationRule',
    metadata: { name: 'd', namespace: 'n' },
    spec: { host: 'reviews', trafficPolicy: { connectionPool: { tcp } } },
  });

  it('admits tcp.idleTimeout, 0s (off) included, and refuses one that does not parse', () => {
    assert.deepEqual(check(dr({ idleTimeout: '0s' })), { errors: [], warnings: [] });
    assert.deepEqual(check(dr({ idleTimeout: '2h' })), { errors: [], warnings: [] });
    assert.match(
      check(dr({ idleTimeout: 'soon' })).errors[0]!,
      /^spec\.trafficPolicy\.connectionPool\.tcp\.idleTimeout: /,
    );
  });

  it('admits tcpKeepalive and maxConnectionDuration with a warning that they have no effect yet', () => {
    const { errors, warnings } = check(dr({ tcpKeepalive: { time: '60s' }, maxConnectionDuration: '1h' }));
    assert.deepEqual(errors, []);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^spec\.trafficPolicy\.connectionPool\.tcp\.tcpKeepalive: .*no effect/);
    assert.match(
      warnings[1]!,
      /^spec\.trafficPolicy\.connectionPool\.tcp\.maxConnectionDuration: .*no effect/,
    );
  });
});

describe('admission review', () => {
  const review = (object: object, kind = 'VirtualService'): AdmissionReview => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u1',
      kind: { group: 'networking.weft.dev', version: 'v1', kind },
      operation: 'CREATE',
      namespace: 'bookinfo',
      name: 'reviews',
      object: object,
    },
  });

  it('refuses with every error, naming the resource, the field and the fix', () => {
    const answer = reviewValidation(
      review(
        vs([
          {
            route: [
              { destination: { host: 'reviews' }, weight: 60 },
              { destination: { host: 'ratings' }, weight: 60 },
            ],
            timeout: 'soon',
          },
        ]),
      ),
      validate,
    );
    assert.equal(answer.response?.allowed, false);
    assert.equal(answer.response?.uid, 'u1');
    assert.equal(answer.response?.status?.code, 422);
    assert.equal(
      answer.response?.status?.message,
      'VirtualService bookinfo/reviews: spec.http[0].route: the weights add up to 120; they must add up to 100 (adjust them, e.g. 90 and 10); VirtualService bookinfo/reviews: spec.http[0].timeout: "soon" is not a duration; write it like 500ms, 1s or 1.5s',
    );
  });

  it('admits valid resources, with warnings, and kinds it does not know', () => {
    const ok = reviewValidation(
      review(vs([{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }])),
      validate,
    );
    assert.equal(ok.response?.allowed, true);
    assert.equal(ok.response?.warnings?.length, 1);
    assert.equal(
      reviewValidation(review({ kind: 'Other', metadata: { name: 'x' } }, 'Other'), validate).response
        ?.allowed,
      true,
    );
  });
});
