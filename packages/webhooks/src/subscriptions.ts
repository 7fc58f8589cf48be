import { randomUUID } from 'node:crypto';
import type { Pool } from '@pipeline/db';
import type { Resolver } from './address-guard';
import { filterProblem, type SubscriptionFilter } from './condition';
import { endpointAddressProblem } from './endpoint-url';
import type { SecretBox } from './secret-box';
import { newSecret } from './signing';
import { insertSubscription } from './store';

export interface SubscriptionRequest extends SubscriptionFilter {
  name: string;
  url: string;
  maxConcurrency?: number;
  maxPerSecond?: number;
}

/**
 * Checks and stores a subscription with a new secret, returned once (it is stored sealed, bound to
 * the subscription). `allowPrivate` is stored with it: its deliveries may go to loopback and
 * private addresses. The URL's addresses are checked now as early feedback; every delivery checks
 * them again where it connects.
 */
export async function addSubscription(
  pool: Pool,
  box: SecretBox,
  request: SubscriptionRequest,
  options: { allowPrivate?: boolean; resolver?: Resolver } = {},
): Promise<{ id: string; secret: string }> {
  const problem = (await endpointAddressProblem(request.url, options, options.resolver)) ?? filterProblem(request);
  if (problem) throw new Error(`webhook subscription ${request.name} refused: ${problem}`);
  const secret = newSecret();
  const id = randomUUID();
  await insertSubscription(pool, { ...request, id, secretSealed: box.seal(secret, id), allowPrivate: Boolean(options.allowPrivate) });
  return { id, secret };
}
