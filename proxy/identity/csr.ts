import { createPrivateKey, createPublicKey, sign } from 'node:crypto';

/**
 * The proxy's side of certificate issuance: a PKCS#10 CSR for its own key (which never leaves the
 * proxy). The CA takes the identity from the caller's token, not from here; `spiffeId`, when given,
 * is only a claim the CA checks against the caller (a CSR for someone else's identity is refused).
 *
 * Built with node:crypto and the few DER encodings one fixed structure needs, rather than
 * node-forge: forge costs every sidecar about 11 MB of resident memory for this one call (the CA,
 * which signs, still uses it). node:crypto gives the SubjectPublicKeyInfo and the RSA signature.
 */
export function createCsr(keyPem: string, spiffeId?: string): string {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(
      `the workload key is ${key.asymmetricKeyType ?? 'unknown'}; the mesh CA signs RSA keys only`,
    );
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = sequence(
    integer(0),
    // Subject O=weft: the identity is in the SAN (and, authoritatively, in the caller's token).
    sequence(set(sequence(oid(OID.organizationName), utf8('weft')))),
    spki,
    contextConstructed(0, ...(spiffeId ? [extensionRequest(spiffeId)] : [])),
  );
  const signature = sign('sha256', info, key);
  const der = sequence(info, SHA256_WITH_RSA, bitString(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.trimEnd()}\n-----END CERTIFICATE REQUEST-----\n`;
}

const OID = {
  organizationName: '2.5.4.10',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
} as const;

const SHA256_WITH_RSA = sequence(oid(OID.sha256WithRSAEncryption), Buffer.from([0x05, 0x00]));

/** The PKCS#9 extensionRequest attribute asking for one SAN: the SPIFFE ID as a URI. */
function extensionRequest(uri: string): Buffer {
  const san = sequence(tlv(0x86, Buffer.from(uri, 'ascii'))); // GeneralName uniformResourceIdentifier [6]
  const extension = sequence(oid(OID.subjectAltName), tlv(0x04, san));
  return sequence(oid(OID.extensionRequest), set(sequence(extension)));
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else throw new Error(`DER value of ${n} bytes is larger than a CSR needs`);
  return Buffer.concat([header, content]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function contextConstructed(tag: number, ...items: Buffer[]): Buffer {
  return tlv(0xa0 | tag, Buffer.concat(items));
}

function integer(n: number): Buffer {
  return tlv(0x02, Buffer.from([n]));
}

function utf8(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

/** An OBJECT IDENTIFIER: the first two arcs in one byte, each later arc in base 128. */
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
