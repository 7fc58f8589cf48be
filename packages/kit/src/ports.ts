/**
 * The HTTP port (/metrics, /healthz, /readyz) of each service of this project unless HTTP_PORT
 * says otherwise: the services' defaults and what `pipeline start` gives them.
 */
export const HTTP_PORTS = {
  'cdc-reader': 9101,
  'order-processor': 9102,
  'inventory-watcher': 9103,
  'metrics-projector': 9104,
  'webhook-dispatcher': 9105,
} as const;

export type ServiceName = keyof typeof HTTP_PORTS;
