/**
 * Jest matchers to unit-test a mesh with the request simulator:
 *
 * ```ts
 * import { meshMatchers, to } from 'cdk8s-mesh/testing';
 * expect.extend(meshMatchers);
 * expect(mesh).toRoute({ from: 'productpage', host: 'reviews', headers: { 'end-user': 'jason' } }, to('reviews', 'v2'));
 * expect(mesh).toRoute({ from: 'productpage', host: 'reviews' }, to('reviews', 'v1', 50), to('reviews', 'v3', 50));
 * expect(mesh).toDeny({ from: 'details', host: 'reviews' }, 'default/allow-nothing');
 * expect(mesh).toAllow({ from: 'productpage', host: 'reviews' });
 * expect(mesh).toInjectFault({ from: 'reviews', host: 'ratings', headers: { 'end-user': 'jason' } }, { delay: '7s' });
 * expect(mesh.explain(request)).toBeDenied();
 * ```
 *
 * The subject is a Mesh (anything with `model()`), a {@link MeshModel}, or, for `toBeDenied` and
 * `toBeAllowed`, an {@link Explanation}. No import of Jest here: `expect.extend` is the caller's.
 */
import type { MeshModel } from '../model/types.js';
import { explain, formatExplanation, type Explanation, type ExplainRequest } from './explain.js';

/** An expected destination of {@link meshMatchers.toRoute}. */
export interface ExpectedDestination {
  /** Service short name or FQDN. */
  readonly host: string;
  /** Subset (version). @default - any subset */
  readonly subset?: string;
  /** Share of the traffic in percent. @default 100 when it is the only expected destination, else any share above 0 */
  readonly percent?: number;
}

/** `to('reviews', 'v2')`, `to('reviews', 'v1', 50)`: an expected destination. */
export function to(host: string, subset?: string, percent?: number): ExpectedDestination {
  return { host, ...(subset !== undefined ? { subset } : {}), ...(percent !== undefined ? { percent } : {}) };
}

/** What a mesh matcher accepts as its subject. */
export type MeshSubject = MeshModel | { model(): MeshModel };

export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

function modelOfSubject(s: unknown): MeshModel {
  if (s && typeof (s as { model?: unknown }).model === 'function')
    return (s as { model(): MeshModel }).model();
  if (s && Array.isArray((s as MeshModel).virtualServices)) return s as MeshModel;
  throw new TypeError('expected a Mesh (with model()) or a MeshModel as the subject of a mesh matcher');
}

const sameHost = (expected: string, fqdn: string) => fqdn === expected || fqdn.startsWith(`${expected}.`);

function describe(req: ExplainRequest): string {
  const h = Object.entries(req.headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `${req.method ?? 'GET'} ${req.host}${req.path ?? '/'}${h ? ` [${h}]` : ''} from ${req.from ?? 'outside'}`;
}

function routeResult(
  e: Explanation,
  expected: readonly ExpectedDestination[],
): { pass: boolean; why: string } {
  const problems: string[] = [];
  for (const x of expected) {
    const share = e.destinations
      .filter((d) => sameHost(x.host, d.host) && (x.subset === undefined || d.subset === x.subset))
      .reduce((s, d) => s + d.probability, 0);
    const want = x.percent ?? (expected.length === 1 ? 100 : undefined);
    const got = Math.round(share * 1000) / 10;
    if (want === undefined ? share === 0 : Math.abs(got - want) > 0.05) {
      problems.push(
        `${x.host}${x.subset ? ` subset ${x.subset}` : ''}: expected ${want === undefined ? 'some' : `${want}%`} of the traffic, got ${got}%`,
      );
    }
    const bad = e.destinations.find(
      (d) => sameHost(x.host, d.host) && (x.subset === undefined || d.subset === x.subset) && d.problem,
    );
    if (bad) problems.push(`${x.host}${x.subset ? ` subset ${x.subset}` : ''} cannot serve: ${bad.problem}`);
  }
  if (e.noRoute) problems.push('the request matches no route (404)');
  return { pass: problems.length === 0, why: problems.join('; ') };
}

const decisionOf = (e: Explanation) => e.authorization?.decision ?? (e.noRoute ? 'NO ROUTE' : 'NO WORKLOAD');

/** The matchers, for `expect.extend(meshMatchers)`. */
export const meshMatchers = {
  /** The request reaches the expected destinations with the expected shares. */
  toRoute(received: MeshSubject, request: ExplainRequest, ...expected: ExpectedDestination[]): MatcherResult {
    const e = explain(modelOfSubject(received), request);
    if (!expected.length) expected = [];
    const { pass, why } = expected.length
      ? routeResult(e, expected)
      : { pass: !e.noRoute, why: 'the request matches no route (404)' };
    return {
      pass,
      message: () =>
        pass
          ? `expected ${describe(request)} not to route to ${expected.map((x) => `${x.host}${x.subset ? `/${x.subset}` : ''}`).join(', ')}, but it does:\n${formatExplanation(e)}`
          : `expected ${describe(request)} to route to ${expected.map((x) => `${x.host}${x.subset ? `/${x.subset}` : ''}${x.percent !== undefined ? ` ${x.percent}%` : ''}`).join(', ')}: ${why}\n${formatExplanation(e)}`,
    };
  },

  /** The request is allowed (and routed) at its most likely destination. */
  toAllow(received: MeshSubject, request: ExplainRequest): MatcherResult {
    const e = explain(modelOfSubject(received), request);
    const pass = e.authorization?.decision === 'ALLOW';
    return {
      pass,
      message: () =>
        `expected ${describe(request)} ${pass ? 'not ' : ''}to be allowed; decision: ${decisionOf(e)}${e.authorization ? ` (${e.authorization.reason})` : ''}\n${formatExplanation(e)}`,
    };
  },

  /** The request is denied, optionally by the given policy (`namespace/name`). */
  toDeny(received: MeshSubject, request: ExplainRequest, policy?: string): MatcherResult {
    const e = explain(modelOfSubject(received), request);
    return denied(e, describe(request), policy);
  },

  /** The request gets the given fault: `{ abort: 500 }`, `{ delay: '7s' }`, or both. */
  toInjectFault(
    received: MeshSubject,
    request: ExplainRequest,
    fault: { readonly abort?: number; readonly delay?: string },
  ): MatcherResult {
    const e = explain(modelOfSubject(received), request);
    const problems: string[] = [];
    // A fault on 0% of requests (an unset percentage) injects nothing.
    const onNone = (f: { readonly percentage: number } | undefined) =>
      f && f.percentage <= 0 ? ' on 0% of requests (an unset percentage injects nothing)' : '';
    if (fault.abort !== undefined && (e.fault?.abort?.httpStatus !== fault.abort || onNone(e.fault.abort)))
      problems.push(
        `abort ${fault.abort} expected, got ${e.fault?.abort ? `${e.fault.abort.httpStatus}${onNone(e.fault.abort)}` : 'none'}`,
      );
    if (fault.delay !== undefined && (e.fault?.delay?.fixedDelay !== fault.delay || onNone(e.fault.delay)))
      problems.push(
        `delay ${fault.delay} expected, got ${e.fault?.delay ? `${e.fault.delay.fixedDelay}${onNone(e.fault.delay)}` : 'none'}`,
      );
    const pass = problems.length === 0;
    return {
      pass,
      message: () =>
        pass
          ? `expected ${describe(request)} not to get fault ${JSON.stringify(fault)}, but it does`
          : `expected ${describe(request)} to get fault ${JSON.stringify(fault)}: ${problems.join('; ')}\n${formatExplanation(e)}`,
    };
  },

  /** An explanation whose request is denied, optionally by the given policy. */
  toBeDenied(received: Explanation, policy?: string): MatcherResult {
    return denied(received, describe(received.request), policy);
  },

  /** An explanation whose request is allowed. */
  toBeAllowed(received: Explanation): MatcherResult {
    const pass = received.authorization?.decision === 'ALLOW';
    return {
      pass,
      message: () =>
        `expected ${describe(received.request)} ${pass ? 'not ' : ''}to be allowed; decision: ${decisionOf(received)}${received.authorization ? ` (${received.authorization.reason})` : ''}`,
    };
  },
};

function denied(e: Explanation, what: string, policy: string | undefined): MatcherResult {
  const a = e.authorization;
  const pass = a?.decision === 'DENY' && (policy === undefined || a.policy === policy);
  return {
    pass,
    message: () =>
      `expected ${what} ${pass ? 'not ' : ''}to be denied${policy ? ` by ${policy}` : ''}; decision: ${decisionOf(e)}${a ? ` (${a.reason})` : ''}\n${formatExplanation(e)}`,
  };
}

type Rest<F> = F extends (received: never, ...rest: infer A) => MatcherResult ? A : never;
type MeshMatchers<R> = {
  [K in keyof typeof meshMatchers]: (...args: Rest<(typeof meshMatchers)[K]>) => R;
};

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars -- must mirror @types/jest
    interface Matchers<R, T = {}> extends MeshMatchers<R> {}
  }
}
