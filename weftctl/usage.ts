/** weftctl's help texts: the overview, and one per command. */

export const DEFAULT_CONTROL_PLANE = 'http://127.0.0.1:15014';

const CONTROL_PLANE_FLAG = `  --control-plane URL   the control plane's monitoring port (default $WEFT_CONTROL_PLANE, then ${DEFAULT_CONTROL_PLANE})`;

const EXIT_CODES = `Exit codes: 0 done; 1 problems found (analyze errors, unknown proxy); 2 wrong command line;
3 something needed is unavailable (control plane, cluster, file).`;

export const commandUsage = {
  'proxy-status': `usage: weftctl proxy-status [-o table|json] [--control-plane URL]
Every proxy connected to the control plane, and whether it runs the latest configuration:
SYNCED (acknowledged what was sent), STALE (not yet acknowledged) or NACK (rejected it).
${CONTROL_PLANE_FLAG}`,
  'proxy-config': `usage: weftctl proxy-config <proxy-id> [-o json|yaml] [--control-plane URL]
The configuration the control plane last sent to one proxy (listeners, routes, clusters, endpoints,
identity and policy). Proxy ids are listed by weftctl proxy-status.
${CONTROL_PLANE_FLAG}`,
  analyze: `usage: weftctl analyze [-f FILE|DIR ...] [PATH ...] [-o text|json]
       weftctl analyze --cluster [-n NAMESPACE] [--kubeconfig FILE] [-o text|json]
Checks Weft resources with the CRD schemas and the validating webhook's checks, and prints each
problem with the resource, the field and what to do. Directories are read recursively (*.yaml,
*.yml, *.json); "-" reads standard input. --cluster checks what is stored in the cluster (all
namespaces unless -n), with --kubeconfig or else $KUBECONFIG, then ~/.kube/config.
CEL rules in the CRDs are checked by the API server only. Exits 1 when any error is found.`,
  manifest: `usage: weftctl manifest generate [-n NAMESPACE] [--image IMAGE]
Prints the Weft CRDs and the operator's install (Namespace, ServiceAccount, least-privilege RBAC,
Deployment) as YAML, for kubectl apply --server-side -f - or a GitOps repository.
  -n, --namespace   where the operator runs (default weft-operator)
  --image           the operator image (default the release's, ghcr.io/weft-dev/weft:v<version>)`,
  version: `usage: weftctl version [-o text|json]
The version of weftctl, which is the Weft release it installs.`,
} as const;

export type CommandName = keyof typeof commandUsage;

export const OVERVIEW = `weftctl: install, inspect and check a Weft service mesh

Commands:
  proxy-status          proxies connected to the control plane: SYNCED, STALE or NACK
  proxy-config <id>     one proxy's configuration
  analyze               check Weft resources in files or in the cluster
  manifest generate     the CRDs and the operator's install, as YAML
  version               weftctl's version

${EXIT_CODES}
Run weftctl <command> --help for a command's flags.`;

/** A command's help. Pure. */
export function helpFor(command: CommandName): string {
  return `${commandUsage[command]}\n  -h, --help   this help\n\n${EXIT_CODES}`;
}
