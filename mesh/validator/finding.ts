/** What the validator reports: one finding per problem, with a stable code. */

export type Severity = 'error' | 'warning' | 'info';

/** A rule's fixed facts, as listed in the rule table. */
export interface RuleInfo {
  /** Stable code, e.g. `MESH101`. */
  readonly code: string;
  readonly severity: Severity;
  /** The upstream codes this rule mirrors (`IST0101`, `KIA1107`, `istio-validation`), empty for our own. */
  readonly mirrors: readonly string[];
  /** What the rule checks, in a few words. */
  readonly title: string;
  /** What to do about a finding. */
  readonly hint: string;
}

/** One problem in the mesh. */
export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly mirrors: readonly string[];
  /** Construct path, `file:Kind/name:line`, or `cluster:Kind/ns/name`. */
  readonly where: string;
  /** The object: `Kind namespace/name`. */
  readonly object: string;
  readonly message: string;
  readonly hint: string;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Errors first, then warnings, then infos; by code, then place. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      ORDER[a.severity] - ORDER[b.severity] ||
      a.code.localeCompare(b.code) ||
      a.where.localeCompare(b.where) ||
      a.message.localeCompare(b.message),
  );
}

/** `Error [MESH101] (where) message` + the hint on the next line, like `istioctl analyze`. */
export function formatFinding(f: Finding): string {
  const level = f.severity === 'error' ? 'Error' : f.severity === 'warning' ? 'Warning' : 'Info';
  const mirrors = f.mirrors.length ? ` ~${f.mirrors.join(',')}` : '';
  return `${level} [${f.code}${mirrors}] (${f.object} ${f.where}) ${f.message}\n    hint: ${f.hint}`;
}

/** Whether `a` is at least as severe as `b`. */
export function atLeast(a: Severity, b: Severity): boolean {
  return ORDER[a] <= ORDER[b];
}
