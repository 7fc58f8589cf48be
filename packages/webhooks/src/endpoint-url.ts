import { isIP } from 'node:net';

/** Why an endpoint URL is refused, or undefined when it may be used. */
export function endpointProblem(raw: string, options: { allowPrivate?: boolean } = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not a URL: ${JSON.stringify(raw)}`;
  }
  if (url.username || url.password)
    return 'credentials in the URL would be sent in clear to every redirect and log: put them nowhere, the signature authenticates us';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = isLoopback(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return `${url.protocol}// is refused: use https:// (http:// only on loopback, for local receivers)`;
  }
  if (!loopback && !options.allowPrivate && isPrivate(host)) {
    return `${host} is a private or link-local address: refused unless WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is true (an endpoint inside your network)`;
  }
  return undefined;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/** RFC 1918, CGNAT, link-local (cloud metadata at 169.254.169.254), unique-local and unspecified addresses. */
export function isPrivate(host: string): boolean {
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return (
      a === 10 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(host) === 6) {
    const h = host.toLowerCase();
    return (
      h === '::' ||
      h.startsWith('fc') ||
      h.startsWith('fd') ||
      h.startsWith('fe8') ||
      h.startsWith('fe9') ||
      h.startsWith('fea') ||
      h.startsWith('feb') ||
      h.startsWith('::ffff:')
    );
  }
  return false;
}
