/** A validator rule: its code, severity, mirrored upstream codes and hint, and the check itself. */
import type { Entry, MeshModel } from '../model/types.js';
import type { RuleInfo } from './finding.js';

/** Reports one finding of the running rule on an object. */
export type Report = (on: Entry, message: string, hint?: string) => void;

export interface Rule extends RuleInfo {
  readonly check: (model: MeshModel, report: Report) => void;
}
