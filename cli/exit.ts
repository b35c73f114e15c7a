/**
 * The exit codes of `cdk8s-mesh`. The common ones follow `istioctl analyze`: 0 clean, 79 findings
 * at or above the failure threshold, 65 some input could not be parsed (and nothing else failed),
 * 1 the tool failed (bad arguments, unreadable path, unreachable cluster, too old a Node.js).
 * The release commands add 3, 4 and 5; `explain` has its own set ({@link EXPLAIN_EXIT}).
 */
import type { PathOutcome } from '../mesh/explain/path.js';

export const EXIT = {
  ok: 0,
  toolFailure: 1,
  /** promote/resume/abort: the release is not in a state the command applies to. */
  refused: 3,
  /** status/promote/resume/abort: the release (or the CanaryRelease kind) does not exist. */
  notFound: 4,
  /** `status <name> --watch`: the release ended RolledBack or Invalid. */
  releaseFailed: 5,
  parseError: 65,
  findings: 79,
} as const;

/** The release commands' own codes, beside 0 and 1. */
export const RELEASE_EXIT = {
  refused: EXIT.refused,
  notFound: EXIT.notFound,
  releaseFailed: EXIT.releaseFailed,
} as const;

/**
 * `explain`: how the request ends, as the simulated path decides it (`explain --hops` shows the
 * path). 65 when it is delivered but some input could not be parsed; 1 on a tool failure (an
 * unknown caller among them).
 */
export const EXPLAIN_EXIT = {
  /** Delivered to a workload, handed to a ServiceEntry host, or answered by the route itself (redirect, direct response). */
  delivered: 0,
  /** An AuthorizationPolicy denies it: 403 RBAC: access denied. */
  denied: 2,
  /** Turned away on the way: an mTLS mismatch or reset connection, an injected abort, a delay that outlasts the timeout. */
  refused: 3,
  /** Nothing to deliver to: no rule matches (404), no Service or ServiceEntry for the host, an undefined subset, no workload. */
  noRoute: 4,
} as const;

/** The exit code of every outcome of the simulated path; a new outcome fails the type check here. */
export const EXPLAIN_EXIT_OF: Readonly<Record<PathOutcome['result'], number>> = {
  delivered: EXPLAIN_EXIT.delivered,
  'left-mesh': EXPLAIN_EXIT.delivered,
  'answered-by-proxy': EXPLAIN_EXIT.delivered,
  denied: EXPLAIN_EXIT.denied,
  refused: EXPLAIN_EXIT.refused,
  fault: EXPLAIN_EXIT.refused,
  timeout: EXPLAIN_EXIT.refused,
  'no-route': EXPLAIN_EXIT.noRoute,
  unavailable: EXPLAIN_EXIT.noRoute,
};
