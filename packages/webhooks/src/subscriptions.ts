import type { Pool } from '@pipeline/db';
import { filterProblem, type SubscriptionFilter } from './condition';
import { endpointProblem } from './endpoint-url';
import type { SecretBox } from './secret-box';
import { newSecret } from './signing';
import { insertSubscription } from './store';

export interface SubscriptionRequest extends SubscriptionFilter {
  name: string;
  url: string;
  maxConcurrency?: number;
  maxPerSecond?: number;
}

/** Checks and stores a subscription with a new secret, returned once (it is stored sealed). */
export async function addSubscription(
  pool: Pool,
  box: SecretBox,
  request: SubscriptionRequest,
  options: { allowPrivate?: boolean } = {},
): Promise<{ id: string; secret: string }> {
  const problem = endpointProblem(request.url, options) ?? filterProblem(request);
  if (problem) throw new Error(`webhook subscription ${request.name} refused: ${problem}`);
  const secret = newSecret();
  const id = await insertSubscription(pool, { ...request, secretSealed: box.seal(secret) });
  return { id, secret };
}
