/**
 * The Gateway API CRDs' CEL rules, evaluated at lint and synth (mesh/model/schema/cel.ts): every
 * rule of every kind is broken by a case of the corpus (or named with the reason no schema-valid
 * object can break it), each case is refused with exactly the rule's message at its field, and the
 * near misses pass. test/integration/gateway-api-cel.test.ts sends the same corpus to the apiserver.
 */
import { describe, expect, test } from '@jest/globals';
import { escapeProperty, kubernetesIsIP } from '../../../mesh/model/schema/cel.js';
import * as generated from '../../../mesh/model/schema/crd-validators.gen.js';
import { checkObject } from '../../../mesh/model/schema/index.js';
import { buildModel } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { GROUP, NOT_BREAKABLE, object, PASSING, VIOLATIONS } from '../../fixtures/gateway-api-cel.js';

interface Node {
  r?: { rule: string; message?: string }[];
  p?: Record<string, Node>;
  i?: Node;
  a?: Node;
}
const { CEL_KINDS, CEL_TREES } = generated as unknown as {
  CEL_KINDS: Record<string, number>;
  CEL_TREES: Node[];
};

/** Every `Kind|message` of the rules the generated trees hold. */
function rulesOf(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (kind: string, n: Node | undefined) => {
    if (!n) return;
    for (const r of n.r ?? []) out.set(`${kind}|${r.message}`, r.rule);
    for (const c of Object.values(n.p ?? {})) walk(kind, c);
    walk(kind, n.i);
    walk(kind, n.a);
  };
  for (const [key, i] of Object.entries(CEL_KINDS)) walk(key.slice(key.lastIndexOf('/') + 1), CEL_TREES[i]);
  return out;
}

const problemsOf = (kind: string, spec: Record<string, unknown>, apiVersion = `${GROUP}/v1`) => {
  const r = checkObject({ ...object(kind, spec, 'x', 'default'), apiVersion });
  return r.ok ? [] : r.problems;
};

describe('the Gateway API CEL rules', () => {
  test('are kept for every Gateway API kind that has them, 77 distinct rules on the spec', () => {
    expect(Object.keys(CEL_KINDS).sort()).toStrictEqual(
      [
        'v1/BackendTLSPolicy',
        'v1/GRPCRoute',
        'v1/Gateway',
        'v1/HTTPRoute',
        'v1/ListenerSet',
        'v1/TLSRoute',
        'v1beta1/Gateway',
        'v1beta1/HTTPRoute',
      ].map((k) => `${GROUP}/${k}`),
    );
    const distinct = new Set<string>();
    const walk = (n: Node | undefined) => {
      if (!n) return;
      for (const r of n.r ?? []) distinct.add(r.rule);
      Object.values(n.p ?? {}).forEach(walk);
      walk(n.i);
      walk(n.a);
    };
    CEL_TREES.forEach(walk);
    expect(distinct.size).toBe(77);
  });

  test('every rule is broken by a case of the corpus, or named with the reason it cannot be', () => {
    const rules = rulesOf();
    const covered = new Set([...VIOLATIONS, ...NOT_BREAKABLE].map((v) => `${v.kind}|${v.message}`));
    expect([...rules.keys()].filter((k) => !covered.has(k))).toStrictEqual([]);
    expect([...covered].filter((k) => !rules.has(k))).toStrictEqual([]);
  });

  test.each(VIOLATIONS.map((v) => [v.kind, v.message, v] as const))(
    'fails if a %s breaks "%s"',
    (kind, _message, v) => {
      expect(problemsOf(kind, v.spec)).toStrictEqual(v.problems);
    },
  );

  test.each(PASSING.map((p) => [p.kind, p.why, p.spec] as const))('a %s passes: %s', (kind, _why, spec) => {
    expect(problemsOf(kind, spec)).toStrictEqual([]);
  });

  test('v1beta1 HTTPRoutes and Gateways are held to the same rules', () => {
    const v = VIOLATIONS.find(
      (x) => x.message === 'RequestRedirect filter must not be used together with backendRefs',
    )!;
    expect(problemsOf('HTTPRoute', v.spec, `${GROUP}/v1beta1`)).toStrictEqual(v.problems);
    const g = VIOLATIONS.find((x) => x.message === 'Listener name must be unique within the Gateway')!;
    expect(problemsOf('Gateway', g.spec, `${GROUP}/v1beta1`)).toStrictEqual(g.problems);
  });

  test('lint reports a broken rule as MESH001 on the object, with the field and the rule message, and leaves it out of the model', () => {
    const v = VIOLATIONS.find(
      (x) => x.message === 'RequestRedirect filter must not be used together with backendRefs',
    )!;
    const model = buildModel([
      {
        object: object('HTTPRoute', v.spec, 'reviews', 'default'),
        origin: { file: 'routes.yaml', line: 3 },
      },
    ]);
    expect(validate(model).map((f) => [f.code, f.object, f.message])).toStrictEqual([
      [
        'MESH001',
        'HTTPRoute default/reviews',
        'spec.rules[0]: RequestRedirect filter must not be used together with backendRefs',
      ],
    ]);
    expect(model.gatewayApiRoutes).toStrictEqual([]);
  });

  test('a rule sees the defaults the apiserver fills in: a backendRef to a Service needs a port, its kind being the default', () => {
    expect(problemsOf('HTTPRoute', { rules: [{ backendRefs: [{ name: 'a' }] }] })).toStrictEqual([
      'spec.rules[0].backendRefs[0]: Must have port for Service reference',
    ]);
    expect(
      problemsOf('HTTPRoute', { rules: [{ backendRefs: [{ name: 'a', kind: 'Bucket', group: 'x.io' }] }] }),
    ).toStrictEqual([]);
  });

  test('a property named like a CEL word is escaped as the apiserver escapes it', () => {
    expect(['namespace', 'a.b', 'a-b', 'a/b', 'a__b', 'name'].map(escapeProperty)).toStrictEqual([
      '__namespace__',
      'a__dot__b',
      'a__dash__b',
      'a__slash__b',
      'a__underscores__b',
      'name',
    ]);
  });

  test("isIP is Kubernetes': no zones, no IPv4-mapped IPv6, no leading zeros", () => {
    expect(
      ['10.0.0.1', '2001:db8::1', '::1', '010.0.0.1', 'fe80::1%eth0', '::ffff:10.0.0.1', 'a.example.com'].map(
        kubernetesIsIP,
      ),
    ).toStrictEqual([true, true, true, false, false, false, false]);
  });
});
