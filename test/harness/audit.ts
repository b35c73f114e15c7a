/**
 * Reads the test apiserver's audit log: the requests a client made, counted where they land.
 * `auditMark()` before a window, `auditEntries(mark, …)` after it gives the requests in between.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { cluster } from './cluster.js';

/** One audited request (the fields tests count by). */
export interface AuditEntry {
  /** `get`, `create`, `update`, `patch`, `delete`. */
  readonly verb: string;
  /** e.g. `canaryreleases`, `virtualservices`, `deployments`. */
  readonly resource: string;
  /** e.g. `status`, `scale`. */
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** HTTP status of the answer. */
  readonly code?: number;
  readonly userAgent?: string;
  /** Who made the request (`user.username`), e.g. `system:serviceaccount:ns:name`. */
  readonly user?: string;
  /** When the apiserver answered (`stageTimestamp`, ms since the epoch). */
  readonly at?: number;
}

/** The current end of the audit log. */
export function auditMark(): number {
  return statSync(cluster.auditLogPath).size;
}

interface RawEvent {
  verb?: string;
  userAgent?: string;
  user?: { username?: string };
  stageTimestamp?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/** The requests audited since `mark`, in `namespace` when given. */
export function auditEntries(mark: number, filter: { readonly namespace?: string } = {}): AuditEntry[] {
  const path = cluster.auditLogPath;
  const size = statSync(path).size;
  if (size <= mark) return [];
  const buf = Buffer.alloc(size - mark);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, mark);
  } finally {
    closeSync(fd);
  }
  const out: AuditEntry[] = [];
  for (const line of buf.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    let e: RawEvent;
    try {
      e = JSON.parse(line) as RawEvent;
    } catch {
      continue; // a line cut at the window's end
    }
    const ref = e.objectRef ?? {};
    if (filter.namespace !== undefined && ref.namespace !== filter.namespace) continue;
    out.push({
      verb: e.verb ?? '',
      resource: ref.resource ?? '',
      ...(ref.subresource ? { subresource: ref.subresource } : {}),
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      ...(ref.name ? { name: ref.name } : {}),
      ...(e.responseStatus?.code !== undefined ? { code: e.responseStatus.code } : {}),
      ...(e.userAgent ? { userAgent: e.userAgent } : {}),
      ...(e.user?.username ? { user: e.user.username } : {}),
      ...(e.stageTimestamp ? { at: Date.parse(e.stageTimestamp) } : {}),
    });
  }
  return out;
}

/** `verb resource[/subresource]` → count, e.g. `{ 'get canaryreleases': 5 }`. */
export function countByVerb(entries: readonly AuditEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entries) {
    const k = `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}
