// Writes each service's Dockerfile from the shared template (`npm run dockerfiles:generate`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTTP_PORTS } from '../../packages/kit/src/ports';
import { serviceDockerfile } from './dockerfiles';

const repoRoot = join(__dirname, '..', '..');
for (const [name, port] of Object.entries(HTTP_PORTS)) {
  writeFileSync(join(repoRoot, 'services', name, 'Dockerfile'), serviceDockerfile(repoRoot, name, port));
  process.stdout.write(`wrote services/${name}/Dockerfile\n`);
}
