import { mkdirSync, rmSync } from 'node:fs';
import type { Component, ComponentStatus, UpResult } from './component';
import { type StackConfig, type StackEndpoints, stackEndpoints } from './config';
import { LocalKafka } from './kafka';
import { LocalPostgres } from './postgres';
import { LocalPrometheus } from './prometheus';
import { LocalSes } from './ses';

export type ComponentName = 'postgres' | 'kafka' | 'ses' | 'prometheus';

export interface Stack {
  readonly config: StackConfig;
  readonly endpoints: StackEndpoints;
  readonly components: readonly Component[];
  /** Starts what is not running (in parallel), reuses what is, waits until all are ready. */
  up(onReady?: (result: UpResult) => void): Promise<UpResult[]>;
  /** Stops what this stack started; returns every PID that belonged to it. */
  down(): Promise<{ name: string; stopped: boolean; pids: number[] }[]>;
  status(): Promise<ComponentStatus[]>;
  /** Stops everything and deletes the stack's folder (private stacks of tests and benchmarks). */
  destroy(): Promise<void>;
  component(name: ComponentName): Component;
}

/** The local stack of one folder: the shared one, or a private one for a test. */
export function makeStack(config: StackConfig, only?: readonly ComponentName[]): Stack {
  const all: Record<ComponentName, Component> = {
    postgres: new LocalPostgres(config),
    kafka: new LocalKafka(config),
    ses: new LocalSes(config),
    prometheus: new LocalPrometheus(config),
  };
  const names = only ?? (['postgres', 'kafka', 'ses', 'prometheus'] as const);
  const components = names.map((name) => all[name]);
  return {
    config,
    endpoints: stackEndpoints(config),
    components,
    component: (name) => all[name],
    up: async (onReady) => {
      mkdirSync(config.dir, { recursive: true, mode: 0o755 });
      const settled = await Promise.allSettled(
        components.map(async (component) => {
          const result = await component.up();
          onReady?.(result);
          return result;
        }),
      );
      const failures = settled.flatMap((s, i) =>
        s.status === 'rejected' ? [`${components[i]?.name}: ${(s.reason as Error).message}`] : [],
      );
      if (failures.length > 0) throw new Error(`the local stack did not come up:\n${failures.join('\n')}`);
      return settled.map((s) => (s as PromiseFulfilledResult<UpResult>).value);
    },
    down: async () => Promise.all(components.map(async (component) => ({ name: component.name, ...(await component.down()) }))),
    status: () => Promise.all(components.map((component) => component.status())),
    destroy: async () => {
      await Promise.all(components.map((component) => component.down()));
      rmSync(config.dir, { recursive: true, force: true });
    },
  };
}
