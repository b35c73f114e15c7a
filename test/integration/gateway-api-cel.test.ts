/**
 * The CEL corpus (test/fixtures/gateway-api-cel.ts) against the real kube-apiserver with the Gateway
 * API v1.5.1 CRDs installed: a server-side dry-run refuses exactly the objects lint refuses, naming
 * the same rule at the same field, and accepts the ones lint accepts.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { checkObject } from '../../mesh/model/schema/index.js';
import { object, PASSING, VIOLATIONS } from '../fixtures/gateway-api-cel.js';
import { cluster, testNamespace } from '../harness/cluster.js';

let client: k8s.KubernetesObjectApi;
let ns: Awaited<ReturnType<typeof testNamespace>>;

beforeAll(async () => {
  client = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
  ns = await testNamespace('gateway-api-cel');
});
afterAll(async () => {
  await ns.dispose();
});

interface Cause {
  readonly field?: string;
  readonly message?: string;
}

/** What a server-side dry-run create says: undefined when accepted, else the refusal's causes. */
async function dryRun(kind: string, spec: Record<string, unknown>, i: number): Promise<Cause[] | undefined> {
  try {
    await client.create(object(kind, spec, `cel-${i}`, ns.name), undefined, 'All');
    return undefined;
  } catch (e) {
    const err = e as k8s.ApiException<string>;
    if (err.code !== 422)
      throw new Error(`${kind} cel-${i}: HTTP ${err.code} ${String(err.body).slice(0, 400)}`, { cause: e });
    const body = JSON.parse(err.body) as { details?: { causes?: Cause[] } };
    return body.details?.causes ?? [];
  }
}

/** Our `spec.rules[0]: message (…)` as the apiserver's field and message. */
function split(problem: string): { field: string; message: string } {
  const at = problem.indexOf(': ');
  return {
    field: problem.slice(0, at),
    message: problem.slice(at + 2).replace(/ \(the rule could not be evaluated: .*\)$/, ''),
  };
}

describe('server-side dry-run agrees with lint on the Gateway API CEL rules', () => {
  test.each(VIOLATIONS.map((v, i) => [v.kind, v.message, v, i] as const))(
    'a %s breaking "%s" is refused by both, at the same field',
    async (kind, _message, v, i) => {
      const ours = checkObject(object(kind, v.spec, `cel-${i}`, ns.name));
      expect(ours.ok ? [] : ours.problems).toStrictEqual(v.problems);
      const causes = await dryRun(kind, v.spec, i);
      expect(causes).toBeDefined();
      // each of our problems is one of the apiserver's causes: same field, its message carries the rule's
      for (const p of v.problems) {
        const { field, message } = split(p);
        expect(causes!.filter((c) => c.field === field && (c.message ?? '').includes(message))).toHaveLength(
          1,
        );
      }
      expect(causes).toHaveLength(v.problems.length);
    },
  );

  test.each(PASSING.map((p, i) => [p.kind, p.why, p.spec, i] as const))(
    'a %s accepted by lint is accepted by the apiserver: %s',
    async (kind, _why, spec, i) => {
      expect(checkObject(object(kind, spec, `ok-${i}`, ns.name)).ok).toBe(true);
      expect(await dryRun(kind, spec, 1000 + i)).toBeUndefined();
    },
  );
});
