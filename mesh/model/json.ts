/**
 * Lenient readers of parsed manifests: each returns the value when it has the expected JSON type,
 * and an empty or undefined value otherwise, so the model reads what is there and never throws.
 */
export type Json = Record<string, unknown>;

export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const obj = (v: unknown): Json => (isObj(v) ? v : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
export const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');
