/**
 * Figures a fault test reports for `npm run bench -- reliability`: when `CDK8S_MESH_FIGURES`
 * names a file, each report is appended to it as one JSON line; otherwise nothing happens. A test
 * reports after its assertions, so a record means the test's invariants held for those figures.
 */
import { appendFileSync } from 'node:fs';

export const FIGURES_ENV = 'CDK8S_MESH_FIGURES';

/** One fault's figures, as a test measured them. */
export interface FaultFigures {
  /** Which fault, e.g. `kube-apiserver restarted`. */
  readonly fault: string;
  /** What was done, with its numbers. */
  readonly count: string;
  /** What the operator did, with its numbers. */
  readonly outcome: string;
}

export function reportFigures(figures: FaultFigures): void {
  const file = process.env[FIGURES_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}
