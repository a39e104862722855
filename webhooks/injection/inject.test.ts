import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import fastJsonPatch from 'fast-json-patch';
import type { MeshSpec } from '../../crds/generated/types/mesh.js';
import { injectPod, type InjectionOutcome } from './inject.js';
import { injectionSettings, type InjectionSettings } from './settings.js';

const settingsFor = (spec: MeshSpec = {}): InjectionSettings =>
  injectionSettings({ apiVersion: 'mesh.weft.dev/v1alpha1', kind: 'Mesh', metadata: { name: 'mesh' }, spec });

/** A Deployment's pod as the API server sends it to the webhook: no name yet, owned by its ReplicaSet. */
function deploymentPod(annotations: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'reviews-v1-7d9f8c6b5-',
      labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '7d9f8c6b5' },
      annotations,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'reviews-v1-7d9f8c6b5',
          uid: 'rs',
          controller: true,
        },
      ],
    },
    spec: {
      serviceAccountName: 'reviews',
      initContainers: [{ name: 'migrate', image: 'shop/migrate' }],
      containers: [
        {
          name: 'reviews',
          image: 'shop/reviews',
          ports: [{ name: 'http', containerPort: 9080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  };
}

function injected(outcome: InjectionOutcome): V1Pod {
  assert.equal(outcome.kind, 'injected', JSON.stringify(outcome));
  return outcome.pod;
}

function refusal(outcome: InjectionOutcome): string {
  assert.equal(outcome.kind, 'refused', JSON.stringify(outcome).slice(0, 500));
  return outcome.message;
}

const names = (containers: readonly V1Container[] | undefined): string[] =>
  (containers ?? []).map((c) => c.name);

function proxyOf(pod: V1Pod): V1Container {
  const proxy = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    (c) => c.name === 'weft-proxy',
  );
  assert.ok(proxy, 'no weft-proxy container');
  return proxy;
}

function captureOf(pod: V1Pod): V1Container {
  const init = pod.spec?.initContainers?.[0];
  assert.equal(init?.name, 'weft-init');
  return init;
}

const argValue = (container: V1Container, flag: string): string | undefined =>
  container.args?.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

describe('sidecar injection', () => {
  describe('the proxy', () => {
    it('is a native sidecar by default: a restartable init container after the capture step', () => {
      const pod = injected(injectPod(deploymentPod(), 'shop', settingsFor()));
      assert.deepEqual(names(pod.spec?.initContainers), ['weft-init', 'weft-proxy', 'migrate']);
      assert.deepEqual(names(pod.spec?.containers), ['reviews']);
      assert.equal(proxyOf(pod).restartPolicy, 'Always');
      assert.equal(proxyOf(pod).startupProbe, undefined);
    });

    it('is a classic container, after the application, when the Mesh says nativeSidecar: false', () => {
      const pod = injected(
        injectPod(deploymentPod(), 'shop', settingsFor({ proxy: { nativeSidecar: false } })),
      );
      assert.deepEqual(names(pod.spec?.initContainers), ['weft-init', 'migrate']);
      assert.deepEqual(names(pod.spec?.containers), ['reviews', 'weft-proxy']);
      assert.equal(proxyOf(pod).restartPolicy, undefined);
    });

    it('follows the pod annotation sidecar.weft.dev/nativeSidecar over the Mesh, either way', () => {
      const classic = injected(
        injectPod(deploymentPod({ 'sidecar.weft.dev/nativeSidecar': 'false' }), 'shop', settingsFor()),
      );
      assert.deepEqual(names(classic.spec?.containers), ['reviews', 'weft-proxy']);
      const native = injected(
        injectPod(
          deploymentPod({ 'sidecar.weft.dev/nativeSidecar': 'true' }),
          'shop',
          settingsFor({ proxy: { nativeSidecar: false } }),
        ),
      );
      assert.deepEqual(names(native.spec?.initContainers), ['weft-init', 'weft-proxy', 'migrate']);
    });

    it('holds the application until ready: a startup probe on a native sidecar', () => {
      const pod = injected(
        injectPod(deploymentPod(), 'shop', settingsFor({ proxy: { holdApplicationUntilProxyStarts: true } })),
      );
      assert.deepEqual(proxyOf(pod).startupProbe?.httpGet, {
        path: '/healthz/ready',
        port: 15021,
        scheme: 'HTTP',
      });
    });

    it('holds the application until ready: first, with a blocking postStart hook, as a classic sidecar', () => {
      const pod = injected(
        injectPod(
          deploymentPod(),
          'shop',
          settingsFor({ proxy: { holdApplicationUntilProxyStarts: true, nativeSidecar: false } }),
        ),
      );
      assert.deepEqual(names(pod.spec?.containers), ['weft-proxy', 'reviews']);
      const command = proxyOf(pod).lifecycle?.postStart?.exec?.command ?? [];
      assert.equal(command[0], 'node');
      assert.match(command.join(' '), /127\.0\.0\.1:15021\/healthz\/ready/);
    });

    it('runs the image proxy entrypoint with its identity from the downward API and the pod labels', () => {
      const proxy = proxyOf(
        injected(injectPod(deploymentPod(), 'shop', settingsFor({ namespace: 'mesh-a' }))),
      );
      assert.equal(proxy.image, 'ghcr.io/weft-dev/weft:v0.1.0');
      assert.equal(proxy.args?.[0], 'proxy');
      assert.equal(argValue(proxy, 'role'), 'sidecar');
      assert.equal(argValue(proxy, 'control-plane'), 'https://weft-control-plane.mesh-a.svc:15012');
      assert.equal(argValue(proxy, 'namespace'), '$(POD_NAMESPACE)');
      assert.equal(argValue(proxy, 'service-account'), '$(SERVICE_ACCOUNT)');
      assert.equal(argValue(proxy, 'id'), '$(POD_NAME).$(POD_NAMESPACE)');
      assert.equal(argValue(proxy, 'workload'), 'reviews-v1');
      assert.deepEqual(
        proxy.args?.filter((a) => a.startsWith('--label=')),
        [
          '--label=app=reviews',
          '--label=pod-template-hash=7d9f8c6b5',
          '--label=security.weft.dev/tlsMode=weft',
          '--label=version=v1',
        ],
      );
      const env = Object.fromEntries(
        (proxy.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      );
      assert.equal(env.POD_NAME, 'metadata.name');
      assert.equal(env.POD_NAMESPACE, 'metadata.namespace');
      assert.equal(env.SERVICE_ACCOUNT, 'spec.serviceAccountName');
      assert.equal(env.INSTANCE_IP, 'status.podIP');
      assert.equal(argValue(proxy, 'instance-ip'), '$(INSTANCE_IP)');
      assert.equal(argValue(proxy, 'log-level'), 'info');
      assert.equal(argValue(proxy, 'bind'), '0.0.0.0');
    });

    it('gets a projected token for the CA audience and the root certificate, where its flags point', () => {
      const pod = injected(injectPod(deploymentPod(), 'shop', settingsFor()));
      const proxy = proxyOf(pod);
      const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
      const mountOf = (volume: string): string | undefined =>
        proxy.volumeMounts?.find((m) => m.name === volume)?.mountPath;

      const token = [...volumes.values()].find((v) => v.projected?.sources?.[0]?.serviceAccountToken);
      const source = token?.projected?.sources?.[0]?.serviceAccountToken;
      assert.equal(source?.audience, 'weft-ca');
      assert.equal(argValue(proxy, 'token-file'), `${mountOf(token!.name)}/${source?.path}`);

      const root = [...volumes.values()].find((v) => v.configMap?.name === 'weft-ca-root-cert');
      assert.ok(root, 'no volume of ConfigMap weft-ca-root-cert');
      assert.equal(argValue(proxy, 'root-cert'), `${mountOf(root.name)}/root-cert.pem`);
      assert.ok(volumes.has('data'), "the pod's own volumes are kept");
    });

    it('runs as UID 1337 without privileges', () => {
      const proxy = proxyOf(injected(injectPod(deploymentPod(), 'shop', settingsFor())));
      assert.equal(proxy.securityContext?.runAsUser, 1337);
      assert.equal(proxy.securityContext?.runAsNonRoot, true);
      assert.equal(proxy.securityContext?.allowPrivilegeEscalation, false);
      assert.deepEqual(proxy.securityContext?.capabilities, { drop: ['ALL'] });
    });

    it('takes its resources and log level from the Mesh', () => {
      const spec: MeshSpec = {
        proxy: { resources: { requests: { cpu: '50m', memory: 64 } }, logLevel: 'debug' },
      };
      const proxy = proxyOf(injected(injectPod(deploymentPod(), 'shop', settingsFor(spec))));
      assert.deepEqual(proxy.resources, { requests: { cpu: '50m', memory: '64' } });
      assert.equal(argValue(proxy, 'log-level'), 'debug');
    });

    it('takes per-pod resources from the annotations, field by field', () => {
      const pod = deploymentPod({
        'sidecar.weft.dev/proxyCPU': '250m',
        'sidecar.weft.dev/proxyMemory': '256Mi',
        'sidecar.weft.dev/proxyCPULimit': '1',
        'sidecar.weft.dev/proxyMemoryLimit': '1Gi',
      });
      assert.deepEqual(proxyOf(injected(injectPod(pod, 'shop', settingsFor()))).resources, {
        requests: { cpu: '250m', memory: '256Mi' },
        limits: { cpu: '1', memory: '1Gi' },
      });
      const onlyCpu = deploymentPod({ 'sidecar.weft.dev/proxyCPU': '300m' });
      assert.deepEqual(proxyOf(injected(injectPod(onlyCpu, 'shop', settingsFor()))).resources, {
        requests: { cpu: '300m', memory: '128Mi' },
        limits: { memory: '512Mi' },
      });
    });
  });

  describe('the capture init container', () => {
    it('redirects to the proxy, lets the proxy UID and its own ports through, with NET_ADMIN and NET_RAW as root', () => {
      const capture = captureOf(injected(injectPod(deploymentPod(), 'shop', settingsFor())));
      assert.equal(capture.image, 'ghcr.io/weft-dev/weft:v0.1.0');
      assert.equal(capture.args?.[0], 'weft-init');
      assert.equal(argValue(capture, 'proxy-uid'), '1337');
      assert.equal(argValue(capture, 'proxy-gid'), '1337');
      assert.equal(argValue(capture, 'proxy-port'), '15001');
      assert.equal(argValue(capture, 'inbound-capture-port'), '15006');
      assert.equal(argValue(capture, 'include-inbound-ports'), '*');
      assert.equal(argValue(capture, 'exclude-inbound-ports'), '15000,15021,15090');
      assert.equal(argValue(capture, 'include-outbound-cidrs'), '*');
      assert.deepEqual(capture.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
      assert.equal(capture.securityContext?.runAsUser, 0);
      assert.equal(capture.securityContext?.runAsNonRoot, false);
    });

    it('includes and excludes what the traffic.sidecar.weft.dev annotations say', () => {
      const pod = deploymentPod({
        'traffic.sidecar.weft.dev/includeInboundPorts': '9080, 9443',
        'traffic.sidecar.weft.dev/excludeInboundPorts': '9090,15021',
        'traffic.sidecar.weft.dev/includeOutboundIPRanges': '10.0.0.0/8',
        'traffic.sidecar.weft.dev/excludeOutboundIPRanges': '10.96.0.1/32,fd00::/8',
        'traffic.sidecar.weft.dev/excludeOutboundPorts': '5432',
      });
      const capture = captureOf(injected(injectPod(pod, 'shop', settingsFor())));
      assert.equal(argValue(capture, 'include-inbound-ports'), '9080,9443');
      assert.equal(argValue(capture, 'exclude-inbound-ports'), '15000,15021,15090,9090');
      assert.equal(argValue(capture, 'include-outbound-cidrs'), '10.0.0.0/8');
      assert.equal(argValue(capture, 'exclude-outbound-cidrs'), '10.96.0.1/32,fd00::/8');
      assert.equal(argValue(capture, 'exclude-outbound-ports'), '5432');
    });

    it('captures no inbound port when includeInboundPorts is empty', () => {
      const pod = deploymentPod({ 'traffic.sidecar.weft.dev/includeInboundPorts': '' });
      assert.equal(
        argValue(captureOf(injected(injectPod(pod, 'shop', settingsFor()))), 'include-inbound-ports'),
        '',
      );
    });
  });

  describe('the pod', () => {
    it("rewrites HTTP probes to the proxy's health port and records the originals for the proxy", () => {
      const pod = injected(injectPod(deploymentPod(), 'shop', settingsFor()));
      assert.deepEqual(pod.spec?.containers[0]?.readinessProbe?.httpGet, {
        path: '/app-health/reviews/readyz',
        port: 15021,
        scheme: 'HTTP',
      });
      assert.deepEqual(JSON.parse(pod.metadata?.annotations?.['sidecar.weft.dev/appProbers'] ?? '{}'), {
        '/app-health/reviews/readyz': { httpGet: { path: '/ready', port: 9080 } },
      });
      const env = proxyOf(pod).env?.find((e) => e.name === 'WEFT_APP_PROBERS');
      assert.equal(
        env?.valueFrom?.fieldRef?.fieldPath,
        "metadata.annotations['sidecar.weft.dev/appProbers']",
      );
    });

    it('keeps probes as they are when sidecar.weft.dev/rewriteAppHTTPProbers is "false"', () => {
      const original = deploymentPod({ 'sidecar.weft.dev/rewriteAppHTTPProbers': 'false' });
      const pod = injected(injectPod(original, 'shop', settingsFor()));
      assert.deepEqual(pod.spec?.containers[0]?.readinessProbe, original.spec?.containers[0]?.readinessProbe);
      assert.equal(pod.metadata?.annotations?.['sidecar.weft.dev/appProbers'], undefined);
      assert.equal(
        proxyOf(pod).env?.find((e) => e.name === 'WEFT_APP_PROBERS'),
        undefined,
      );
    });

    it("adds Prometheus scrape annotations for the proxy's metrics when the pod has none", () => {
      const annotations = injected(injectPod(deploymentPod(), 'shop', settingsFor())).metadata?.annotations;
      assert.equal(annotations?.['prometheus.io/scrape'], 'true');
      assert.equal(annotations?.['prometheus.io/port'], '15090');
      assert.equal(annotations?.['prometheus.io/path'], '/stats/prometheus');
    });

    it("keeps the pod's own scrape annotations, and adds none when the Mesh turns metrics off", () => {
      const own = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100' };
      const kept = injected(injectPod(deploymentPod(own), 'shop', settingsFor())).metadata?.annotations;
      assert.equal(kept?.['prometheus.io/port'], '9100');
      assert.equal(kept?.['prometheus.io/path'], undefined);
      const off = settingsFor({ telemetry: { metrics: { enabled: false } } });
      const none = injected(injectPod(deploymentPod(), 'shop', off)).metadata?.annotations;
      assert.equal(none?.['prometheus.io/scrape'], undefined);
    });

    it('is labelled as running a Weft proxy, records what was injected, and keeps kubectl on the app', () => {
      const pod = injected(injectPod(deploymentPod(), 'shop', settingsFor()));
      assert.equal(pod.metadata?.labels?.['security.weft.dev/tlsMode'], 'weft');
      assert.deepEqual(JSON.parse(pod.metadata?.annotations?.['sidecar.weft.dev/status'] ?? ''), {
        revision: 'default',
        initContainers: ['weft-init', 'weft-proxy'],
        containers: [],
        volumes: ['weft-token', 'weft-root-cert'],
      });
      assert.equal(pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'], 'reviews');
    });

    it('comes with a JSON patch that turns the pod as sent into the pod as injected', () => {
      const original = deploymentPod();
      const outcome = injectPod(original, 'shop', settingsFor());
      assert.equal(outcome.kind, 'injected');
      if (outcome.kind !== 'injected') return;
      const patched = fastJsonPatch.applyPatch(
        structuredClone(original),
        outcome.patch,
        true,
        false,
      ).newDocument;
      assert.deepEqual(patched, outcome.pod);
      assert.deepEqual(deploymentPod(), original, 'the input pod is not modified');
    });
  });

  describe('bad annotations', () => {
    it('refuse the pod, naming it, the annotation, the value and the fix', () => {
      const message = refusal(
        injectPod(
          deploymentPod({ 'traffic.sidecar.weft.dev/excludeOutboundPorts': '5432,postgres' }),
          'shop',
          settingsFor(),
        ),
      );
      assert.match(message, /^Pod shop\/reviews-v1-7d9f8c6b5- cannot be given a Weft proxy/);
      assert.match(message, /annotation traffic\.sidecar\.weft\.dev\/excludeOutboundPorts: "5432,postgres"/);
      assert.match(message, /"postgres" is not a port number/);
      assert.match(message, /list port numbers from 1 to 65535/);
      assert.match(message, /pod template/);
    });

    it('are all reported at once', () => {
      const message = refusal(
        injectPod(
          deploymentPod({
            'sidecar.weft.dev/proxyCPU': 'lots',
            'sidecar.weft.dev/nativeSidecar': 'no',
            'traffic.sidecar.weft.dev/excludeOutboundIPRanges': '10.0.0.1',
          }),
          'shop',
          settingsFor(),
        ),
      );
      assert.match(message, /sidecar\.weft\.dev\/proxyCPU: "lots": "lots" is not a Kubernetes quantity/);
      assert.match(message, /sidecar\.weft\.dev\/nativeSidecar: "no"/);
      assert.match(message, /excludeOutboundIPRanges: "10\.0\.0\.1": .*write "10\.0\.0\.1\/32"/);
    });

    it('include a request above the limit, naming where the limit comes from', () => {
      const fromMesh = refusal(
        injectPod(deploymentPod({ 'sidecar.weft.dev/proxyMemory': '1Gi' }), 'shop', settingsFor()),
      );
      assert.match(
        fromMesh,
        /sidecar\.weft\.dev\/proxyMemory: "1Gi": the proxy's memory request 1Gi is above its memory limit 512Mi \(from the Mesh spec\.proxy\.resources\)/,
      );
      assert.match(fromMesh, /raise the limit with sidecar\.weft\.dev\/proxyMemoryLimit/);
      const lowLimit = refusal(
        injectPod(deploymentPod({ 'sidecar.weft.dev/proxyMemoryLimit': '64Mi' }), 'shop', settingsFor()),
      );
      assert.match(lowLimit, /proxyMemoryLimit: "64Mi".*raise it to at least 128Mi/);
    });
  });
});
