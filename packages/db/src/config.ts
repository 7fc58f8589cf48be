import { envFields } from '@pipeline/runtime';
import { z } from 'zod';

/** Connection URL of the local stack's PostgreSQL (`pipeline stack up`). */
export const LOCAL_DATABASE_URL = 'postgres://pipeline:pipeline@127.0.0.1:54329/pipeline';

export const databaseEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .default(LOCAL_DATABASE_URL)
    .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), {
      error: 'expected a URL such as postgres://user:password@host:5432/database (a password with special characters percent-encoded)',
    })
    .describe("PostgreSQL connection URL. Default: the local stack's database."),
  DATABASE_POOL_MAX: envFields.positiveInt(10).describe("Most connections the service's pool opens."),
});

export type DatabaseEnv = z.output<typeof databaseEnvSchema>;
