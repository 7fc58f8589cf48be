import { z } from 'zod';
import { envFields, parseConfig, runtimeEnvSchema } from './config';
import { ConfigError } from './errors';

describe('parseConfig', () => {
  const schema = runtimeEnvSchema({ httpPort: 9000 }).extend({
    API_PASSWORD: envFields.nonEmpty(),
    FEATURE_ON: envFields.boolean(false),
  });

  it('applies documented defaults and coerces text to numbers and booleans', () => {
    expect(parseConfig('svc', schema, { API_PASSWORD: 's3cret', FEATURE_ON: 'yes' })).toEqual({
      HTTP_PORT: 9000,
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: 15_000,
      API_PASSWORD: 's3cret',
      FEATURE_ON: true,
    });
  });

  it('names the service, each variable, what it expected and what it got, and says what to do', () => {
    expect(() => parseConfig('svc', schema, { HTTP_PORT: 'eighty', FEATURE_ON: 'perhaps' })).toThrow(
      [
        'Invalid configuration for svc:',
        '  - HTTP_PORT: expected a TCP port number (got "eighty")',
        '  - API_PASSWORD: expected a value (it is not set)',
        '  - FEATURE_ON: expected one of true, false, 1, 0, yes, no (got "perhaps")',
        'Set or correct these environment variables (the service\'s README, "Configuration", lists each one: services/svc/README.md) and start again.',
      ].join('\n'),
    );
  });

  it('never repeats the value of a secret variable', () => {
    const strict = z.object({ DB_PASSWORD: z.string().min(12, { error: 'expected at least 12 characters' }) });
    try {
      parseConfig('svc', strict, { DB_PASSWORD: 'hunter2' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('DB_PASSWORD: expected at least 12 characters (got "[redacted]")');
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as ConfigError).retriable).toBe(false);
    }
  });
});
