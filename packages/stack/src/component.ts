/** The state of one part of the stack, as `pipeline stack status` shows it. */
export interface ComponentStatus {
  name: string;
  /** `external`: named by an environment variable; the stack neither starts nor stops it. */
  state: 'running' | 'stopped' | 'external' | 'unhealthy';
  pid?: number;
  port?: number;
  address: string;
  healthy: boolean;
  detail?: string;
  logFile?: string;
}

export interface UpResult extends ComponentStatus {
  /** True when an already running process was kept rather than started. */
  reused: boolean;
  tookMs: number;
}

/** One server of the local stack, started as a detached process that outlives the CLI. */
export interface Component {
  readonly name: string;
  up(): Promise<UpResult>;
  down(): Promise<{ stopped: boolean; pids: number[] }>;
  status(): Promise<ComponentStatus>;
}
