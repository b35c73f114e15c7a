/** Runs every rule over a mesh model and collects every finding. */
import type { Entry, MeshModel } from '../model/types.js';
import { sortFindings, type Finding, type RuleInfo, type Severity } from './finding.js';
import { RULES, type Rule } from './rules/index.js';

export interface ValidateOptions {
  /** Codes (ours, or the upstream codes they mirror) not to report. @default - none */
  readonly suppress?: readonly string[];
  /** Rules to run. @default RULES */
  readonly rules?: readonly Rule[];
}

/** The annotation that silences codes on one object, as `istioctl analyze` honours it. */
export const SUPPRESS_ANNOTATION = 'galley.istio.io/analyze-suppress';

/** Every finding of every rule, sorted errors first. Never throws on bad input: a failing rule is reported as MESH000. */
export function validate(model: MeshModel, options: ValidateOptions = {}): Finding[] {
  const suppress = new Set(options.suppress ?? []);
  const out: Finding[] = [];
  for (const rule of options.rules ?? RULES) {
    if (suppress.has(rule.code)) continue;
    const report = (on: Entry, message: string, hint?: string) => {
      const local = (on.annotations[SUPPRESS_ANNOTATION] ?? '').split(',').map((s) => s.trim());
      if (local.includes(rule.code) || rule.mirrors.some((c) => local.includes(c) || suppress.has(c))) return;
      out.push({
        code: rule.code,
        severity: rule.severity,
        mirrors: rule.mirrors,
        where: on.where,
        object: `${on.kind} ${on.namespace}/${on.name}`,
        message,
        hint: hint ?? rule.hint,
      });
    };
    try {
      rule.check(model, report);
    } catch (e) {
      out.push({
        code: 'MESH000',
        severity: 'error',
        mirrors: [],
        where: rule.code,
        object: 'validator',
        message: `rule ${rule.code} failed: ${(e as Error).message}`,
        hint: 'this is a bug in the validator; please report it with the input',
      });
    }
  }
  return sortFindings(out);
}

/** The rule table without the checks (for docs and `cli lint --rules`). */
export function ruleTable(): RuleInfo[] {
  return RULES.map(({ code, severity, mirrors, title, hint }) => ({ code, severity, mirrors, title, hint }));
}

/** Counts by severity. */
export function summarize(findings: readonly Finding[]): Record<Severity, number> {
  const s: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) s[f.severity]++;
  return s;
}
