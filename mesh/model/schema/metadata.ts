/**
 * `metadata` as the apiserver checks it for every kind: a name, a namespace, labels and annotations
 * of the right types and forms. The model reads these fields of every object, so a bad one keeps the
 * object out of the model.
 */
import { shown } from './crd.js';

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kubernetes' qualified name (a label key): an optional DNS subdomain prefix, then a name of at most 63 characters. */
const NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function qualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash === -1) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && PREFIX.test(prefix) && NAME.test(key.slice(slash + 1));
}

/** The problems of an object's `metadata`; empty when it is well formed. */
export function checkMetadata(object: Record<string, unknown>): string[] {
  const out: string[] = [];
  const md = object.metadata;
  if (md === undefined) return ['metadata: missing: every object needs metadata.name'];
  if (!isObj(md)) return [`metadata: must be object (got ${shown(md)})`];
  if (typeof md.name !== 'string' || md.name === '') {
    if (typeof md.generateName !== 'string')
      out.push(`metadata.name: must be a non-empty string (got ${shown(md.name)})`);
  } else if (md.name.length > 253) out.push(`metadata.name: longer than 253 characters (${md.name.length})`);
  if (
    md.namespace !== undefined &&
    md.namespace !== '' && // empty is the default namespace, as for kubectl
    (typeof md.namespace !== 'string' || !/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(md.namespace))
  )
    out.push(`metadata.namespace: must be a DNS label like shop (got ${shown(md.namespace)})`);
  for (const field of ['labels', 'annotations'] as const) {
    const v = md[field];
    if (v === undefined) continue;
    if (!isObj(v)) {
      out.push(`metadata.${field}: must be a map of strings (got ${shown(v)})`);
      continue;
    }
    for (const [k, val] of Object.entries(v)) {
      const at = `metadata.${field}[${JSON.stringify(k.length > 60 ? `${k.slice(0, 57)}…` : k)}]`;
      if (!qualifiedName(k))
        out.push(
          `${at}: not a valid key (a name of at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit, optionally after a DNS prefix and /)`,
        );
      else if (typeof val !== 'string') out.push(`${at}: must be string (got ${shown(val)})`);
      else if (field === 'labels' && !LABEL_VALUE.test(val))
        out.push(
          `${at}: not a valid label value (at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit) (got ${shown(val)})`,
        );
    }
  }
  return out;
}
