import { isIP } from 'node:net';
import { AddressNotAllowedError, addressProblem, checkedAddress, type Resolver, systemResolver } from './address-guard';

/** Whether a subscription may reach loopback and private addresses (`--allow-private`). */
export interface EndpointOptions {
  allowPrivate?: boolean;
}

/**
 * Why an endpoint URL can never be used, or undefined: its form (https://, or plain http:// only
 * for an endpoint inside your network, and no credentials), and for an IP literal the address
 * rule (address-guard.ts). A host name is checked by `endpointAddressProblem` and, what counts,
 * again at every delivery.
 */
export function endpointProblem(raw: string, options: EndpointOptions = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not a URL: ${JSON.stringify(raw.slice(0, 200))}`;
  }
  if (url.username || url.password)
    return 'credentials in the URL would be sent in clear to every redirect and log: put them nowhere, the signature authenticates us';
  const allowPrivate = Boolean(options.allowPrivate);
  if (url.protocol === 'http:' && !allowPrivate) {
    return 'http:// is refused: use https:// (plain http:// only to a loopback or private endpoint, added with --allow-private)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol}// is refused: use https://`;
  // The URL parser has already turned 0x7f.1, 2130706433 and the like into 127.0.0.1.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return addressProblem(host, { allowPrivate, privateOnly: url.protocol === 'http:' });
  return undefined;
}

/**
 * `endpointProblem`, and every address the host resolves to now: early feedback when a
 * subscription is added. A name that does not resolve (yet) is not refused; every delivery
 * resolves and checks it again before connecting.
 */
export async function endpointAddressProblem(
  raw: string,
  options: EndpointOptions = {},
  resolver: Resolver = systemResolver,
): Promise<string | undefined> {
  const problem = endpointProblem(raw, options);
  if (problem) return problem;
  const url = new URL(raw);
  try {
    await checkedAddress(url.hostname, { allowPrivate: Boolean(options.allowPrivate), privateOnly: url.protocol === 'http:' }, resolver);
    return undefined;
  } catch (error) {
    return error instanceof AddressNotAllowedError ? error.message : undefined;
  }
}
