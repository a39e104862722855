import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseAppProbers } from './admin/app-probes.js';
import type { IdentitySource } from './identity/workload-identity.js';
import { WeftProxy, type ProxyOptions } from './proxy.js';

const USAGE = `weft-proxy: the Weft sidecar and gateway proxy

  --config FILE              standalone: serve this configuration (JSON, proxy-config.schema.json)
  --control-plane URL        http://host:15010 (plaintext, local development) or https://host:15012
  --role sidecar|gateway     (sidecar)
  --id ID --namespace NS --workload NAME --service-account SA --label k=v ...
  --bind ADDRESS             traffic listeners' address (127.0.0.1; 0.0.0.0 with --capture)
  --capture                  weft-init redirects the pod's traffic here: route by original destination
                             (needs the addon from npm run build:native); on by default for a sidecar
                             bound to every address (0.0.0.0 or ::), as injected into a pod
  --instance-ip ADDRESS      the workload's own address, where inbound traffic is delivered (Istio's
                             INSTANCE_IP; default: --bind when that is one address, else 127.0.0.1)
  --outbound-port 15001 --inbound-port 15006 --admin-port 15000 --health-port 15021 --metrics-port 15090
  --cert-chain F --key F --root-cert F   identity from files
  --token-file F             identity from the control plane's CA (with https --control-plane and --root-cert)
  --access-log               JSON access log on standard output
  --drain-ms 5000            how long SIGTERM waits for in-flight requests
  --log-level info`;

function options(argv: string[]): ProxyOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'control-plane': { type: 'string' },
      role: { type: 'string', default: 'sidecar' },
      id: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      workload: { type: 'string' },
      'service-account': { type: 'string' },
      label: { type: 'string', multiple: true, default: [] },
      bind: { type: 'string' },
      capture: { type: 'boolean', default: false },
      'instance-ip': { type: 'string' },
      'outbound-port': { type: 'string', default: '15001' },
      'inbound-port': { type: 'string', default: '15006' },
      'admin-port': { type: 'string', default: '15000' },
      'health-port': { type: 'string', default: '15021' },
      'metrics-port': { type: 'string', default: '15090' },
      'cert-chain': { type: 'string' },
      key: { type: 'string' },
      'root-cert': { type: 'string' },
      'token-file': { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      'drain-ms': { type: 'string', default: '5000' },
      'detection-timeout-ms': { type: 'string', default: '100' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.config && !values['control-plane'])
    throw new Error('give --config FILE (standalone) or --control-plane URL');
  if (values.role !== 'sidecar' && values.role !== 'gateway')
    throw new Error(`--role must be sidecar or gateway, not "${values.role}"`);
  const labels = Object.fromEntries(
    values.label.map((kv) => {
      const at = kv.indexOf('=');
      if (at <= 0) throw new Error(`--label ${kv}: expected key=value`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );
  const workload = values.workload ?? labels.app ?? 'unknown';
  const bind = bindAddress(values.bind, values.capture);
  const instanceIp = values['instance-ip'] ?? (isWildcard(bind) ? undefined : bind);
  return {
    node: {
      id: values.id ?? `${workload}.${values.namespace}`,
      role: values.role,
      namespace: values.namespace,
      workload,
      ...(values['service-account'] ? { serviceAccount: values['service-account'] } : {}),
      labels,
      ...(instanceIp ? { address: instanceIp } : {}),
      proxyVersion: '0.1.0',
    },
    bindAddress: bind,
    capture: captureOn(values.capture, values.role, bind),
    // Set by injection: the application's HTTP probes, which the health port forwards.
    appProbers: parseAppProbers(process.env.WEFT_APP_PROBERS),
    ports: {
      outbound: port(values['outbound-port'], 'outbound-port'),
      inbound: port(values['inbound-port'], 'inbound-port'),
      admin: port(values['admin-port'], 'admin-port'),
      health: port(values['health-port'], 'health-port'),
      metrics: port(values['metrics-port'], 'metrics-port'),
    },
    ...(values['control-plane'] ? { controlPlaneUrl: values['control-plane'] } : {}),
    ...(values.config ? { configFile: values.config } : {}),
    identity: identitySource(values),
    accessLog: values['access-log'],
    drainMs: port(values['drain-ms'], 'drain-ms', 0, 3_600_000),
    detectionTimeoutMs: port(values['detection-timeout-ms'], 'detection-timeout-ms', 0, 60_000),
    log: pino({ name: 'weft-proxy', level: values['log-level'] }),
  };
}

function identitySource(values: Record<string, string | boolean | string[] | undefined>): IdentitySource {
  const str = (k: string): string | undefined => values[k] as string | undefined;
  if (str('cert-chain') || str('key')) {
    if (!str('cert-chain') || !str('key') || !str('root-cert'))
      throw new Error('--cert-chain, --key and --root-cert go together');
    return { kind: 'files', certChain: str('cert-chain')!, key: str('key')!, root: str('root-cert')! };
  }
  if (str('token-file')) {
    const url = str('control-plane');
    if (!url?.startsWith('https:') || !str('root-cert'))
      throw new Error('--token-file needs an https --control-plane (the CA) and --root-cert (the mesh root)');
    return { kind: 'ca', url, root: str('root-cert')!, tokenFile: str('token-file')! };
  }
  return { kind: 'none' };
}

/** iptables redirects inbound traffic to the pod's address, not loopback: with capture, listen on all. */
function bindAddress(flag: string | undefined, capture: boolean): string {
  return flag ?? (capture ? '0.0.0.0' : '127.0.0.1');
}

/** An injected sidecar binds every address because iptables redirects its pod's traffic to it. */
function captureOn(flag: boolean, role: string, bind: string): boolean {
  return flag || (role === 'sidecar' && isWildcard(bind));
}

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::';

function port(value: string, flag: string, min = 0, max = 65_535): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${flag} must be an integer in [${min}, ${max}], not "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const proxy = new WeftProxy(opts);
  const shutdown = (): void => {
    opts.log.info('draining');
    void proxy.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await proxy.start();
  opts.log.info({ ports: proxy.boundPorts, node: opts.node.id }, 'weft-proxy started');
}

main().catch((err: unknown) => {
  console.error(`weft-proxy: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
