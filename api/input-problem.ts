/**
 * The shape of one problem with a user's input, apart from the zod reading that makes it
 * (./zod-issues.ts), so declarations that show it never load zod's.
 */

/** One problem with an input, as a user reads it. */
export interface InputProblem {
  /** Field path from the input's root, e.g. `routes[1].to` or `.spec.steps[2].setWeight`; empty for the input itself. */
  readonly field: string;
  /** What is wrong and what is expected. */
  readonly message: string;
  /**
   * What was received: JSON cut at 80 characters, `nothing` when the field is not set, the key
   * itself for a bad record key. Absent when the message already says it.
   */
  readonly received?: string;
}
