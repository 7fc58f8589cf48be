import type { Resolver } from './address-guard';
import { endpointAddressProblem, endpointProblem } from './endpoint-url';

const PRIVATE_HINT =
  'a loopback or private endpoint needs a subscription that allows it (`pipeline webhooks add --allow-private`, `pipeline webhooks set NAME --allow-private`, or WEBHOOK_ALLOW_PRIVATE_ENDPOINTS=true)';
const HTTP_REFUSED = 'http:// is refused: use https:// (plain http:// only to a loopback or private endpoint, added with --allow-private)';

describe('endpoint URLs', () => {
  it.each([
    ['https://hooks.example.com/pipeline', {}, undefined],
    ['https://93.184.216.34/hook', {}, undefined],
    ['http://127.0.0.1:8080/hook', {}, HTTP_REFUSED],
    ['http://127.0.0.1:8080/hook', { allowPrivate: true }, undefined],
    ['http://localhost:8080/hook', { allowPrivate: true }, undefined],
    ['http://[::1]:8080/hook', { allowPrivate: true }, undefined],
    ['https://127.0.0.1:8443/hook', {}, `address not allowed: 127.0.0.1 (loopback): ${PRIVATE_HINT}`],
    ['https://[::1]/hook', {}, `address not allowed: ::1 (loopback): ${PRIVATE_HINT}`],
    ['https://2130706433/hook', {}, `address not allowed: 127.0.0.1 (loopback): ${PRIVATE_HINT}`],
    ['http://hooks.example.com/pipeline', {}, HTTP_REFUSED],
    [
      'http://93.184.216.34/hook',
      { allowPrivate: true },
      'address not allowed: 93.184.216.34 (public): plain http:// goes only to loopback and private addresses; use https://',
    ],
    ['ftp://hooks.example.com', {}, 'ftp:// is refused: use https://'],
    ['https://10.0.0.5/hook', {}, `address not allowed: 10.0.0.5 (private): ${PRIVATE_HINT}`],
    ['https://10.0.0.5/hook', { allowPrivate: true }, undefined],
    [
      'https://169.254.169.254/latest/meta-data',
      { allowPrivate: true },
      'address not allowed: 169.254.169.254 (link-local): no webhook is ever sent to such an address',
    ],
    ['https://[fd00::1]/hook', {}, `address not allowed: fd00::1 (unique local): ${PRIVATE_HINT}`],
    [
      'https://user:pw@hooks.example.com/',
      {},
      'credentials in the URL would be sent in clear to every redirect and log: put them nowhere, the signature authenticates us',
    ],
    ['not a url', {}, 'not a URL: "not a url"'],
  ])('%s %j', (url, options, problem) => {
    expect(endpointProblem(url, options)).toBe(problem);
  });

  const resolver: Resolver = async (name) => {
    if (name === 'internal.example') return [{ address: '10.9.8.7', family: 4 }];
    if (name === 'hooks.example.com') return [{ address: '93.184.216.34', family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };

  it('checks the addresses a name resolves to when it is added, and lets a name that does not resolve yet through', async () => {
    await expect(endpointAddressProblem('https://internal.example/hook', {}, resolver)).resolves.toBe(
      `address not allowed: 10.9.8.7 (private): ${PRIVATE_HINT} (internal.example resolves to it)`,
    );
    await expect(endpointAddressProblem('https://internal.example/hook', { allowPrivate: true }, resolver)).resolves.toBeUndefined();
    await expect(endpointAddressProblem('https://hooks.example.com/hook', {}, resolver)).resolves.toBeUndefined();
    await expect(endpointAddressProblem('https://not-yet.example/hook', {}, resolver)).resolves.toBeUndefined();
  });
});
