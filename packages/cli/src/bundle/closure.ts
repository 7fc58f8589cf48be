import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/** What a package.json says that the bundle reads. */
export interface Manifest {
  name: string;
  version?: string;
  main?: string;
  files?: string[];
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** One package of the closure: where it is in the checkout and where it goes in the bundle. */
export interface BundledPackage {
  name: string;
  /** Its folder in the checkout (symbolic links resolved). */
  source: string;
  /** Its folder relative to the bundle's root ('' for the service itself). */
  target: string;
  /** A workspace package of the checkout: only its published files (package.json `files`) are copied. */
  workspace: boolean;
}

/**
 * The production dependency closure of a workspace package as installed in the checkout: its
 * `dependencies` (and the optional and peer ones that are installed), theirs, and so on, each
 * resolved as Node resolves it from the package that requires it. devDependencies are never
 * followed, so the local stack, the test helpers and the tools stay out.
 *
 * Each package keeps its place relative to the folder that owns its node_modules: the checkout's
 * root maps to the bundle's node_modules, a workspace package's own node_modules to its folder in
 * the bundle; a workspace package goes to `node_modules/<name>`, the bundled service to the root.
 */
export function dependencyClosure(repoRoot: string, serviceDir: string): BundledPackage[] {
  const root = realpathSync(repoRoot);
  const service = realpathSync(serviceDir);
  const workspaceTarget = new Map<string, string>([[service, '']]);
  const found = new Map<string, BundledPackage>();
  const byTarget = new Map<string, string>();

  const isWorkspace = (dir: string) => !relative(root, dir).split(sep).includes('node_modules');
  const targetOf = (dir: string, name: string): string => {
    if (isWorkspace(dir)) return workspaceTarget.get(dir) ?? join('node_modules', name);
    // `<owner>/node_modules/<rest>`: the owner is the checkout's root or the workspace package whose node_modules holds it.
    const rel = relative(root, dir);
    const at = rel.indexOf(`node_modules${sep}`);
    const owner = join(root, rel.slice(0, at));
    const rest = rel.slice(at);
    const ownerTarget =
      owner === root || owner === `${root}${sep}`
        ? ''
        : (found.get(realpathSync(owner))?.target ?? workspaceTarget.get(realpathSync(owner)));
    if (ownerTarget === undefined) throw new Error(`${dir} sits in the node_modules of ${owner}, which the bundle does not hold`);
    return join(ownerTarget, rest);
  };

  const visit = (dir: string): void => {
    if (found.has(dir)) return;
    const manifest = readManifest(dir);
    const target = targetOf(dir, manifest.name);
    const taken = byTarget.get(target);
    if (taken && taken !== dir) throw new Error(`two packages would go to ${target} in the bundle: ${taken} and ${dir}`);
    byTarget.set(target, dir);
    found.set(dir, { name: manifest.name, source: dir, target, workspace: isWorkspace(dir) });
    const required = Object.keys(manifest.dependencies ?? {});
    const optional = [...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
    for (const name of required) {
      const resolved = resolvePackage(dir, name, root);
      if (!resolved) throw new Error(`${manifest.name} depends on ${name}, which is not installed: run npm ci`);
      visit(resolved);
    }
    for (const name of optional) {
      const resolved = resolvePackage(dir, name, root);
      if (resolved) visit(resolved);
    }
  };
  visit(service);
  return [...found.values()].sort((a, b) => a.target.localeCompare(b.target));
}

/** The folder `name` resolves to from a package in `fromDir`, as Node looks it up (up to the checkout's root). */
export function resolvePackage(fromDir: string, name: string, root: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === root) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
