import { captureComplete, webhooksComplete } from './delivery';
import { metricsEqualSql, reorderTasks } from './derived';
import { noDeadLetters, noFatalLines, onlyScheduledExits } from './health';
import type { Invariant, Observation } from './observation';
import { oneEmailEach, ordersSettled, stockBalances } from './orders';

export type { Invariant, Observation } from './observation';

/** Every guarantee a chaos run checks, in the order they are reported. */
export const INVARIANTS: readonly Invariant[] = [
  ordersSettled,
  oneEmailEach,
  stockBalances,
  reorderTasks,
  metricsEqualSql,
  webhooksComplete,
  captureComplete,
  noDeadLetters,
  noFatalLines,
  onlyScheduledExits,
];

/** Each invariant's violations (an invariant that cannot even be checked reports why). */
export async function checkInvariants(observation: Observation): Promise<{ name: string; violations: string[] }[]> {
  const results: { name: string; violations: string[] }[] = [];
  for (const invariant of INVARIANTS) {
    try {
      results.push({ name: invariant.name, violations: await invariant.check(observation) });
    } catch (error) {
      results.push({ name: invariant.name, violations: [`could not be checked: ${(error as Error).message}`] });
    }
  }
  return results;
}
