import { join } from 'node:path';
import { configFields } from '@pipeline/runtime';
import { compareTable, SERVICE_SCHEMAS } from './tables';

const repoRoot = join(__dirname, '..', '..');

describe('each service’s configuration, documented from its config schema', () => {
  it.each(Object.keys(SERVICE_SCHEMAS))('%s: every variable says what it is for', (service) => {
    const undocumented = configFields(SERVICE_SCHEMAS[service] as never).filter((f) => !f.description?.trim());
    expect(undocumented.map((f) => f.name)).toEqual([]);
  });

  it.each(Object.keys(SERVICE_SCHEMAS))('%s: its README’s configuration table is what the schema says (npm run docs:config)', (service) => {
    const { readme, schema } = compareTable(repoRoot, service);
    expect(readme.length).toBeGreaterThan(10);
    expect(readme).toEqual(schema);
  });
});
