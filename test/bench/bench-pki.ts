import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';
import { workloadPem } from '../helpers/workload-pki.js';

/** PEM files for one TLS party. `combined` is chain then key, as HAProxy's `crt` takes it. */
export interface TlsFiles {
  readonly certChain: string;
  readonly key: string;
  readonly combined: string;
  readonly root: string;
}

/** Mesh identities for the two Weft proxies, and plain TLS certificates for HAProxy and nginx. */
export interface BenchPki {
  readonly weftClient: TlsFiles;
  readonly weftServer: TlsFiles & { readonly spiffeId: string };
  /** The second hop's server certificate: DNS localhost and IP 127.0.0.1, for hostname checks. */
  readonly tlsServer: TlsFiles;
  /** The first hop's client certificate, for mutual TLS. */
  readonly tlsClient: TlsFiles;
}

function write(dir: string, name: string, chain: string, key: string, rootFile: string): TlsFiles {
  const files = {
    certChain: join(dir, `${name}-chain.pem`),
    key: join(dir, `${name}-key.pem`),
    combined: join(dir, `${name}-combined.pem`),
    root: rootFile,
  };
  writeFileSync(files.certChain, chain);
  writeFileSync(files.key, key, { mode: 0o600 });
  writeFileSync(files.combined, chain + key, { mode: 0o600 });
  return files;
}

/** A workload certificate made the way a proxy gets one: its own key, a CSR, the CA's signer. */
function workload(root: KeyPair, serviceAccount: string): { chain: string; key: string; spiffeId: string } {
  const { certChain, key, spiffeId } = workloadPem(root, 'default', serviceAccount);
  return { chain: certChain, key, spiffeId };
}

/** Every key is RSA 2048 (the only kind the CA signs), so the handshakes compare like for like. */
export function writeBenchPki(dir: string): BenchPki {
  const root = issueCertificate({ commonName: 'weft bench root', usage: 'ca', validDays: 1 });
  const rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, root.certPem);
  const client = workload(root, 'client');
  const server = workload(root, 'svc');
  const tlsServer = issueCertificate(
    {
      commonName: 'bench hop 2',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validDays: 1,
    },
    root,
  );
  const tlsClient = issueCertificate({ commonName: 'bench hop 1', usage: 'client', validDays: 1 }, root);
  return {
    weftClient: write(dir, 'weft-client', client.chain, client.key, rootFile),
    weftServer: {
      ...write(dir, 'weft-server', server.chain, server.key, rootFile),
      spiffeId: server.spiffeId,
    },
    tlsServer: write(dir, 'tls-server', tlsServer.certPem, tlsServer.keyPem, rootFile),
    tlsClient: write(dir, 'tls-client', tlsClient.certPem, tlsClient.keyPem, rootFile),
  };
}
