/**
 * A controller's writes, counted where they land: the apiserver's audit log, read by
 * test/harness/audit.ts. The delivery benchmark starts the control plane with every write of both
 * controllers' ServiceAccounts audited (`auditAllWritesOf`), so the writes of one are the entries
 * with its user.
 */
import { countByVerb, type AuditEntry } from '../../test/harness/audit.js';

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The writes of `user` in `namespace` answered within [from, to] (ms since the epoch). */
export function writesOf(
  entries: readonly AuditEntry[],
  user: string,
  namespace: string,
  from: number,
  to: number,
): AuditEntry[] {
  return entries.filter(
    (e) =>
      WRITE_VERBS.has(e.verb) &&
      e.user === user &&
      e.namespace === namespace &&
      e.at !== undefined &&
      e.at >= from &&
      e.at <= to,
  );
}

/** `verb resource ×n`, most first, e.g. `create events ×4, update canaries/status ×3`. */
export function breakdown(entries: readonly AuditEntry[]): string {
  return Object.entries(countByVerb(entries))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
}
