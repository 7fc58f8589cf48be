/** The breaking switches (preload.cjs), as the harness lists them: the service each one is in, the invariant it must break, what it does. */
// The preload is plain CommonJS (it runs before anything is compiled); its table is read from it.
const preload = require('./preload.cjs') as {
  SWITCHES: Record<string, { service: string; invariant: string; what: string }>;
};

export const SWITCHES: Readonly<Record<string, { service: string; invariant: string; what: string }>> = preload.SWITCHES;
