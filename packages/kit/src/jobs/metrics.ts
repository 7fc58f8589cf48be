import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function makeJobMetrics(registers: Registry[]) {
  /** Each scheduled job's latest occurrence that is due, seconds since the epoch (0: none yet). */
  const dueOf = new Map<string, () => number>();
  return {
    dueOf,
    lastDue: new Gauge({
      name: 'job_last_due_timestamp_seconds',
      help: 'The job’s latest scheduled run that is due, seconds since the epoch (0: none due since the job was registered); later than the last success by more than a grace: the job is late',
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        for (const [job, due] of dueOf) this.set({ job }, due());
      },
    }),
    lastSuccess: new Gauge({
      name: 'job_last_success_timestamp_seconds',
      help: 'When the job last succeeded (scheduled or manual run), seconds since the epoch',
      labelNames: ['job'],
      registers,
    }),
    duration: new Histogram({
      name: 'job_run_duration_seconds',
      help: 'Duration of one attempt of the job, by outcome',
      labelNames: ['job', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    failures: new Counter({
      name: 'job_failures_total',
      help: 'Attempts of the job that failed (each is retried until its next run is due)',
      labelNames: ['job'],
      registers,
    }),
    givenUp: new Counter({
      name: 'job_given_up_total',
      help: 'Scheduled runs that never succeeded before the next one was due (the admins were alerted)',
      labelNames: ['job'],
      registers,
    }),
  };
}

export type JobMetrics = ReturnType<typeof makeJobMetrics>;

/** One set of series per registry, shared by every job of the service. */
const byRegistry = new WeakMap<Registry, JobMetrics>();

export function jobMetrics(registry: Registry | undefined, job: string): JobMetrics {
  let metrics = registry ? byRegistry.get(registry) : undefined;
  if (!metrics) {
    metrics = makeJobMetrics(registry ? [registry] : []);
    if (registry) byRegistry.set(registry, metrics);
  }
  // A labelled counter has no series until its first inc(): show 0 rather than nothing.
  metrics.failures.inc({ job }, 0);
  metrics.givenUp.inc({ job }, 0);
  return metrics;
}
