import type { Env } from './config';

/**
 * The settings whose values are secret, in every service, the CLI and the local stack. A new
 * secret setting is added here (and to docs/architecture.md, "Secrets"): its value is then
 * scrubbed from every log line and every line the CLI prints, and never echoed by a
 * configuration error. URL settings count for the password inside them.
 */
export const SECRET_SETTINGS = [
  'DATABASE_URL',
  'CDC_DATABASE_URL',
  'CDC_READER_PASSWORD',
  'PIPELINE_READER_PASSWORD',
  'PIPELINE_PG_PASSWORD',
  'INVOICE_LINK_SECRET',
  'WEBHOOK_SECRETS_KEY',
  'AWS_SECRET_ACCESS_KEY',
  'KAFKA_SASL_PASSWORD',
] as const;

/** The settings above that are URLs: what is secret is the password in them. */
const URL_SETTINGS = new Set<string>(['DATABASE_URL', 'CDC_DATABASE_URL']);

/** Whether a setting's whole value is secret (a URL is not: its password is). */
export function isSecretSetting(name: string): boolean {
  return (SECRET_SETTINGS as readonly string[]).includes(name) && !URL_SETTINGS.has(name);
}

/** Removes the password from a connection URL so it can be logged or printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}

/**
 * A free-text secret shorter than this is not scrubbed wherever it stands (it would take common
 * words with it): it is scrubbed in a URL's credentials and under a secret's key.
 */
const MIN_SCRUBBED_CHARS = 10;

/** `scheme://user:password@`: a URL's password, whatever it is, wherever a line carries one. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/'"`]*:)([^\s@/'"`]+)@/gi;

/**
 * The secret values this process knows, and what removes them from text. Values come from the
 * environment (`addSettings`) and from what the process opens later (a webhook's signing secret:
 * `add`); every log line and, in the CLI, every line written passes `scrub`.
 */
export class SecretScrubber {
  private readonly values = new Set<string>();
  private sorted: string[] = [];

  /** A secret value: it, and its JSON-escaped and URL-encoded spellings, never reach a line. */
  add(value: string | undefined): void {
    if (!value || value.length < MIN_SCRUBBED_CHARS) return;
    const before = this.values.size;
    for (const spelling of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) this.values.add(spelling);
    // Longest first, so a secret containing another is replaced whole.
    if (this.values.size !== before) this.sorted = [...this.values].sort((a, b) => b.length - a.length);
  }

  /** The secret settings of an environment (a URL's password, unless it only repeats the user name: local defaults). */
  addSettings(env: Env): void {
    for (const name of SECRET_SETTINGS) {
      const value = env[name];
      if (!value) continue;
      if (!URL_SETTINGS.has(name)) {
        this.add(value);
        continue;
      }
      try {
        const url = new URL(value);
        const password = decodeURIComponent(url.password);
        if (password && password !== decodeURIComponent(url.username)) this.add(password);
      } catch {
        // Not a URL: its configuration error says so without echoing it (parseConfig).
      }
    }
  }

  scrub(text: string): string {
    // A password redactUrl already replaced stays as it wrote it.
    let out = text.replace(URL_CREDENTIALS, (whole, before: string, password: string) =>
      password === 'redacted' || password === '[redacted]' ? whole : `${before}[redacted]@`,
    );
    for (const value of this.sorted) if (out.includes(value)) out = out.split(value).join('[redacted]');
    return out;
  }
}

/** This process's secrets: the services' main and the CLI fill it; every logger made here scrubs with it. */
export const processSecrets = new SecretScrubber();

/** Keys whose values are secret at any depth of a logged object (lower case). */
const SECRET_KEYS = new Set([
  'password',
  'secret',
  'secretaccesskey',
  'connectionstring',
  'databaseurl',
  'authorization',
  'sasl',
  ...SECRET_SETTINGS.map((name) => name.toLowerCase()),
]);

/**
 * A logged object with the values of secret keys replaced, at any depth (pino's redact paths name
 * fixed depths). Errors are left to pino's serializer; their text is scrubbed with the line.
 */
export function redactSecretKeys<T>(value: T, depth = 0): T {
  if (depth > 10 || value === null || typeof value !== 'object' || value instanceof Error || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    const items = value.map((item) => redactSecretKeys(item, depth + 1));
    return (items.some((item, i) => item !== value[i]) ? items : value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const redacted =
      SECRET_KEYS.has(key.toLowerCase()) && field !== undefined && field !== null ? '[redacted]' : redactSecretKeys(field, depth + 1);
    if (redacted !== field) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = redacted;
    }
  }
  return (copy ?? value) as T;
}
