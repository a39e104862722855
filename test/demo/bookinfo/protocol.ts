/** What the sample application's services answer, shared by the services and the demo that reads them. */

/** Misbehaviour the demo switches on at an application: every n-th request fails, or all are slow. */
export interface Behaviour {
  failEvery?: number;
  failStatus?: number;
  delayMs?: number;
}

/** One call to another service as the caller saw it: 200 with that service's answer, or an error. */
export interface CallResult {
  status: number;
  error?: string;
  service?: string;
  version?: string;
  /** The SPIFFE identity the callee's proxy verified for the caller, if the call came over mTLS. */
  caller?: string;
  stars?: string;
  ratings?: CallResult | Record<string, number>;
}

/** productpage's answer: itself, and what details and reviews (and reviews' ratings) said. */
export interface ProductPage {
  service: 'productpage';
  version: string;
  caller?: string;
  details: CallResult;
  reviews: CallResult & { ratings?: CallResult };
}

/** The `URI=` element of x-forwarded-client-cert: the caller's identity, as its proxy verified it. */
export function callerOf(xfcc: string | string[] | undefined): string | undefined {
  const value = Array.isArray(xfcc) ? xfcc.at(-1) : xfcc;
  return value
    ?.split(';')
    .find((kv) => kv.startsWith('URI='))
    ?.slice(4);
}

export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
