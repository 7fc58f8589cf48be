import type { z } from 'zod';

/** One environment variable of a service, as its config schema describes it. */
export interface ConfigField {
  name: string;
  /** The default as the service would use it; undefined when the variable has none. */
  default: string | undefined;
  required: boolean;
  description: string | undefined;
}

type Field = z.ZodType & { description?: string };

/**
 * The variables a config schema reads, in its order: each field's description (`.describe()`),
 * and its default, computed by parsing "unset" (so it is the one the code uses, not one written
 * down beside it). A field that fails on "unset" is required.
 */
export function configFields(schema: z.ZodType): ConfigField[] {
  const shape = (schema as unknown as { shape?: Record<string, Field> }).shape;
  if (!shape) throw new Error('configFields expects an object schema (z.object, extended or refined)');
  return Object.entries(shape).map(([name, field]) => {
    const parsed = field.safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    return {
      name,
      default: value === undefined ? undefined : Array.isArray(value) ? value.join(',') : String(value),
      required: !parsed.success,
      description: field.description,
    };
  });
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The Markdown table of a config schema: variable, default (or "required"), meaning. */
export function configTable(schema: z.ZodType): string {
  const rows = configFields(schema).map((f) => {
    const fallback = f.required ? '**required**' : f.default === undefined ? 'unset' : `\`${cell(f.default)}\``;
    return `| \`${f.name}\` | ${fallback} | ${cell(f.description ?? '')} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
