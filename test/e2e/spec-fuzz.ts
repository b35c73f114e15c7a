/**
 * CanaryRelease specs for fuzzing, derived from the one zod schema through the CRD's
 * `openAPIV3Schema` that is generated from it (types, bounds, patterns, enums, required fields and
 * the union rules `exactly one of` / `at least one of` / `together`), and mutated: a field removed,
 * a value of the wrong type, null, out of range, fractional, huge, deeply nested, or a prototype
 * key added. Shared by `operator-fuzz.test.ts` and `bench/reliability.bench.ts`.
 *
 * Each case goes through the real apiserver (strict field validation) and the running operator:
 * - refused by the apiserver: its message must name a `spec` field;
 * - accepted but refused by zod: the operator gives it phase Invalid and a `Valid=False` condition
 *   naming the field, and never touches the VirtualService the case points at;
 * - accepted by both: the operator takes it up (any phase but Invalid) without touching that
 *   VirtualService either (the case names a route it does not have, so it holds).
 * Specs that zod accepts but the apiserver refuses are a disagreement between the two enforcers of
 * one schema, and are reported. Cases run in batches, each deleted before the next, so the
 * operator's caches stay small and every batch is bounded in time.
 */
import * as k8s from '@kubernetes/client-node';
import fc from 'fast-check';
import { CanaryReleaseSpec, type CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { canaryReleaseCrd, GROUP, PLURAL, VERSION } from '../../api/v1alpha1/index.js';
import {
  CANARY_RELEASES,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { pooledApiClient } from '../../operator/adapters/kubeconfig.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { compiledOperator } from '../harness/compiled-cli.js';
import { killHard, spawnOperator, waitLeading } from '../harness/operator-process.js';
import { must, sleep, userVirtualService, waitFor } from '../integration/operator-fixtures.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  'x-kubernetes-validations'?: { rule: string }[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

/** Durations no CEL bound of the CRD refuses (1s..59m: within every interval and 720h cap). */
const boundedDuration = fc
  .tuple(fc.integer({ min: 1, max: 59 }), fc.constantFrom('s', 'm'))
  .map(([n, unit]) => `${n}${unit}`);

/** The union rules an object's CEL rules state, read from their text. */
function unions(s: Schema): { exactlyOne: string[][]; atLeastOne: string[][]; together: string[][] } {
  const out = { exactlyOne: [] as string[][], atLeastOne: [] as string[][], together: [] as string[][] };
  for (const { rule } of s['x-kubernetes-validations'] ?? []) {
    const keys = [...rule.matchAll(/has\(self\.(\w+)\)/g)].map((m) => m[1]!);
    if (/\? 1 : 0\).* == 1$/.test(rule)) out.exactlyOne.push(keys);
    else if (/^has\(self\.\w+\) != has\(self\.\w+\)$/.test(rule)) out.exactlyOne.push(keys);
    else if (/^has\(self\.\w+\) == has\(self\.\w+\)$/.test(rule)) out.together.push(keys);
    else if (/^has\(self\.\w+\)( \|\| has\(self\.\w+\))+$/.test(rule)) out.atLeastOne.push(keys);
  }
  return out;
}

/** A fast-check arbitrary of values that satisfy `s` (and the union rules on its objects). */
export function arbitraryOf(s: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string': {
      const minLength = s.minLength ?? 0;
      const maxLength = Math.min(s.maxLength ?? 24, 40);
      if (s.pattern) {
        const matching = fc
          .stringMatching(new RegExp(s.pattern))
          .filter((x) => x.length >= minLength && x.length <= (s.maxLength ?? Infinity))
          .map((x) => x.slice(0, s.maxLength ?? x.length));
        // A duration the CRD bounds by CEL: mostly within the bounds, sometimes anything the
        // pattern allows (so the bound itself is tried too).
        const bounded = (s['x-kubernetes-validations'] ?? []).some(({ rule }) =>
          rule.includes('duration(self)'),
        );
        return bounded
          ? fc.oneof({ arbitrary: boundedDuration, weight: 4 }, { arbitrary: matching, weight: 1 })
          : matching;
      }
      return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({
        min: s.minimum ?? -1e6,
        max: s.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const constraints = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) };
      const items = arbitraryOf(s.items ?? {}, depth + 1);
      // a set's items, a map's keys are unique: the apiserver refuses a repeated one
      const keys = s['x-kubernetes-list-map-keys'] ?? [];
      if (s['x-kubernetes-list-type'] === 'set')
        return fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) });
      if (s['x-kubernetes-list-type'] === 'map')
        return fc.uniqueArray(items, {
          ...constraints,
          selector: (v) => JSON.stringify(keys.map((k) => (v as Record<string, unknown>)[k])),
        });
      return fc.array(items, constraints);
    }
    case 'object': {
      if (s.additionalProperties && !s.properties) {
        return fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/),
          arbitraryOf(s.additionalProperties, depth + 1),
          {
            minKeys: s.minProperties ?? 0,
            maxKeys: 3,
          },
        );
      }
      const props = s.properties ?? {};
      const { exactlyOne, atLeastOne, together } = unions(s);
      const required = new Set(s.required ?? []);
      const keys = Object.keys(props);
      const values = Object.fromEntries(keys.map((k) => [k, arbitraryOf(props[k]!, depth + 1)]));
      // which fields are set is drawn first, then values for those fields only (drawing every
      // optional subtree and dropping most of them made generation the campaign's slowest part)
      return fc
        .record({
          include: fc.array(fc.boolean(), { minLength: keys.length, maxLength: keys.length }),
          picks: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
        })
        .chain(({ include, picks }) => {
          const on = new Set(keys.filter((k, i) => required.has(k) || (include[i] && depth < 6)));
          exactlyOne.forEach((group, g) => {
            const keep = group[picks[g % picks.length]! % group.length]!;
            for (const k of group) on.delete(k);
            on.add(keep);
          });
          atLeastOne.forEach((group, g) => {
            if (!group.some((k) => on.has(k))) on.add(group[picks[(g + 1) % picks.length]! % group.length]!);
          });
          for (const group of together) {
            if (group.some((k) => on.has(k))) for (const k of group) on.add(k);
          }
          return fc.record(Object.fromEntries(keys.filter((k) => on.has(k)).map((k) => [k, values[k]!])));
        });
    }
    default:
      return fc.constant({});
  }
}

const MUTATIONS = [
  'remove',
  'null',
  'number',
  'negative',
  'fraction',
  'huge-number',
  'string',
  'empty-string',
  'huge-string',
  'boolean',
  'array',
  'object',
  'deep',
  'proto-key',
  'constructor-key',
  'empty-key',
  'long-key',
] as const;
type Mutation = (typeof MUTATIONS)[number];

function deep(n: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** Every path to a value in `v` (the root excluded). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: (string | number)[][] = [];
  for (const [k, child] of Object.entries(v)) {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    out.push(p, ...paths(child, p));
  }
  return out;
}

/** `spec` with `mutation` applied at the `pick`-th path (a copy). */
export function mutate(
  spec: Record<string, unknown>,
  mutation: Mutation,
  pick: number,
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  const all = paths(copy);
  const path = all[pick % all.length]!;
  const parent = path
    .slice(0, -1)
    .reduce<Record<string | number, unknown>>(
      (o, k) => o[k] as Record<string | number, unknown>,
      copy as Record<string | number, unknown>,
    );
  const key = path.at(-1)!;
  const replace: Record<Exclude<Mutation, 'remove' | `${string}-key`>, unknown> = {
    null: null,
    number: 5,
    negative: -1,
    fraction: 1.5,
    'huge-number': 1e300,
    string: 'x',
    'empty-string': '',
    'huge-string': 'a'.repeat(100_000),
    boolean: true,
    array: [],
    object: {},
    deep: deep(64),
  };
  if (mutation === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (mutation.endsWith('-key')) {
    // a key added to the object at the path (or around the value there)
    const target = parent[key] !== null && typeof parent[key] === 'object' ? parent[key] : parent;
    const keyNames: Record<string, string> = {
      'proto-key': '__proto__',
      'constructor-key': 'constructor',
      'empty-key': '',
      'long-key': 'k'.repeat(300),
    };
    const name = keyNames[mutation]!;
    Object.defineProperty(target, name, {
      value: { polluted: true },
      enumerable: true,
      configurable: true,
      writable: true,
    });
  } else {
    parent[key] = replace[mutation as keyof typeof replace];
  }
  return copy;
}

/** The spec schema, as the CRD states it. */
export function specSchema(): Schema {
  const crd = canaryReleaseCrd() as unknown as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
  };
  return crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
}

/** One fuzz case: a spec (valid as generated, or mutated). */
export interface FuzzCase {
  readonly spec: Record<string, unknown>;
  readonly mutation: Mutation | undefined;
}

/**
 * Specs the CRD cannot refuse but zod does (header names are map keys, which the CRD does not
 * check): the path through the operator's own validation, whatever the sample holds.
 */
function crdBlindCases(): FuzzCase[] {
  const spec = (headers: Record<string, unknown>) => ({
    service: 'reviews',
    stable: { subset: 'v1' },
    canary: { subset: 'v2' },
    virtualService: { name: SENTINEL, route: 'primary' },
    steps: [{ headerRoute: { name: 'ab', headers } }, { setWeight: 50 }],
  });
  return [
    { spec: spec({ '': { exact: 'x' } }), mutation: 'empty-key' },
    { spec: spec({ ['k'.repeat(300)]: { exact: 'x' } }), mutation: 'long-key' },
  ];
}

/** `n` cases from `seed`: two the CRD cannot refuse, then about a third as generated, the rest mutated. */
export function fuzzCases(n: number, seed: number): FuzzCase[] {
  const arb = fc.record({
    spec: arbitraryOf(specSchema()) as fc.Arbitrary<Record<string, unknown>>,
    mutate: fc.integer({ min: 0, max: 2 }),
    mutation: fc.constantFrom(...MUTATIONS),
    pick: fc.nat(),
  });
  const blind = crdBlindCases().slice(0, n);
  // Cross-field CEL rules (e.g. stepWeight <= maxWeight) are beyond what the generator reads, so a
  // case meant to be valid as generated is taken from spare samples until one is; without one it
  // goes as generated (and the apiserver or zod refuses it).
  const wanted = n - blind.length;
  const samples = fc.sample(arb, { numRuns: wanted, seed });
  const nextValid = spareValid(
    arb.map(({ spec }) => inFrame(spec)),
    seed,
    wanted * 3,
  );
  const sampled = samples.map(({ spec, mutate: m, mutation, pick }) => {
    let base = inFrame(spec);
    if (m === 0 && !storedValid(base)) base = nextValid() ?? base;
    const c = m === 0 ? base : mutate(base, mutation, pick);
    // A spec valid as stored points at a route the VirtualService does not have, so it holds;
    // an invalid one at the route the operator would drive if it acted on it.
    const vs = c.virtualService as { route?: unknown } | null;
    if (storedValid(c) && vs && typeof vs === 'object') vs.route = NO_SUCH_ROUTE;
    return { spec: c, mutation: m === 0 ? undefined : mutation };
  });
  return [...blind, ...sampled];
}

/**
 * The next spare sample of `arb` that zod accepts as stored, or undefined once `budget` samples
 * are drawn. Spares are drawn on demand, in chunks of a seed of their own (`seed` is the first),
 * and each is checked once.
 */
function spareValid(
  arb: fc.Arbitrary<Record<string, unknown>>,
  seed: number,
  budget: number,
): () => Record<string, unknown> | undefined {
  const chunk = 64;
  let drawn = 0;
  let pending: Record<string, unknown>[] = [];
  return () => {
    for (;;) {
      const next = pending.shift();
      if (next !== undefined) {
        if (storedValid(next)) return next;
        continue;
      }
      if (drawn >= budget) return undefined;
      pending = fc.sample(arb, { numRuns: chunk, seed: seed * 7919 + 1 + drawn / chunk });
      drawn += chunk;
    }
  };
}

/**
 * `spec` in this harness's frame: a release driving the sentinel VirtualService's route, so no
 * Gateway API route and no per-version Service (which only those take).
 */
function inFrame(spec: Record<string, unknown>): Record<string, unknown> {
  const { httpRoute: _h, grpcRoute: _g, ...rest } = spec;
  const version = (v: unknown) => {
    if (v === null || typeof v !== 'object') return v;
    const { service: _s, ...kept } = v as Record<string, unknown>;
    return kept;
  };
  return {
    ...rest,
    stable: version(rest.stable),
    canary: version(rest.canary),
    virtualService: { name: SENTINEL, route: 'primary' },
  };
}

/** The route valid cases name, which the VirtualService does not have. */
const NO_SUCH_ROUTE = 'no-such-route';

/** `v` without null object fields, as the apiserver stores it (it drops them). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}

/** Whether zod accepts the spec as the apiserver would store it. */
function storedValid(spec: unknown): boolean {
  return CanaryReleaseSpec.safeParse(withoutNulls(spec)).success;
}

/** The VirtualService every case points at; the operator must never change it. */
export const SENTINEL = 'fuzzed';

export interface FuzzResult {
  readonly cases: number;
  /** Refused by the apiserver (schema or CEL), each with a message naming a field. */
  readonly refusedByApiserver: number;
  /** Accepted by the apiserver, refused by zod: each got Invalid and a condition naming the field. */
  readonly invalidByOperator: number;
  /** Accepted by both and taken up by the operator. */
  readonly valid: number;
  /** Invariant breaks (empty when all held). */
  readonly breaks: string[];
  readonly operatorErrors: string[];
  /** Whether the operator process was still running at the end. */
  readonly operatorAlive: boolean;
  readonly ms: number;
}

interface Outcome {
  readonly name: string;
  readonly zodValid: boolean;
  readonly zodFields: string[];
  readonly created: boolean;
}

/** Runs `cases` through the apiserver and one operator process, `batch` at a time. */
export async function fuzzThroughOperator(
  cases: readonly FuzzCase[],
  opts: { batch?: number; log?: (l: string) => void } = {},
): Promise<FuzzResult> {
  compiledOperator(); // build it before the campaign is timed
  const t0 = Date.now();
  const batch = opts.batch ?? 100;
  const log = opts.log ?? (() => undefined);
  const kc = cluster.kubeConfig();
  // one connection pool for the batch's concurrent creates (a TLS handshake per request otherwise)
  const custom = pooledApiClient(kc, k8s.CustomObjectsApi);
  const client = new KubeClient(kc);
  const namespace = await testNamespace('fuzz');
  const ns = namespace.name;
  const result = { refusedByApiserver: 0, invalidByOperator: 0, valid: 0, breaks: [] as string[] };
  const vs = must(await client.create(VIRTUAL_SERVICES, ns, userVirtualService(ns, SENTINEL, 'v1')));
  const op = spawnOperator({ namespace: ns, identity: 'fuzz' });
  let alive = true;
  void op.exited.then(() => (alive = false));
  try {
    await waitLeading(op, 'the fuzzed operator');
    for (let start = 0; start < cases.length; start += batch) {
      const slice = cases.slice(start, start + batch);
      const tb = Date.now();
      const outcomes: Outcome[] = await Promise.all(
        slice.map(async (c, i) => {
          const name = `case-${start + i}`;
          const sent = CanaryReleaseSpec.safeParse(withoutNulls(c.spec));
          const body = {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'CanaryRelease',
            metadata: { name, namespace: ns, labels: { fuzz: 'case' } },
            spec: c.spec,
          };
          try {
            const stored = (await custom.createNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              plural: PLURAL,
              namespace: ns,
              body,
              fieldValidation: 'Strict',
            })) as { spec?: unknown };
            const parsed = CanaryReleaseSpec.safeParse(stored.spec);
            const zodFields = parsed.success ? [] : parsed.error.issues.map((x) => x.path.join('.'));
            const route = (stored.spec as { virtualService?: { route?: unknown } }).virtualService?.route;
            if (parsed.success && route !== NO_SUCH_ROUTE)
              result.breaks.push(`${name}: the harness sent a valid spec for route ${String(route)}`);
            return { name, zodValid: parsed.success, zodFields, created: true };
          } catch (e) {
            const err = e as k8s.ApiException<string>;
            const text = String(err.body ?? err.message);
            if (!(typeof err.code === 'number' && err.code >= 400 && err.code < 500))
              result.breaks.push(`${name}: create failed with ${err.code}: ${text.slice(0, 300)}`);
            else if (!/spec\b/.test(text))
              result.breaks.push(`${name}: refused without naming a field: ${text.slice(0, 300)}`);
            else if (sent.success)
              result.breaks.push(
                `${name}: zod accepts but the apiserver refuses (${c.mutation ?? 'as generated'}): ${text.slice(0, 300)}; spec ${JSON.stringify(c.spec).slice(0, 600)}`,
              );
            return { name, zodValid: sent.success, zodFields: [], created: false };
          }
        }),
      );
      const tCreated = Date.now();
      result.refusedByApiserver += outcomes.filter((o) => !o.created).length;
      const created = outcomes.filter((o) => o.created);
      // every created release gets a status for its generation from the operator
      const statuses = await waitFor(
        `the operator to take up the ${created.length} releases of batch ${start / batch + 1}`,
        async () => {
          const items = must(await client.list<CanaryReleaseObject>(CANARY_RELEASES, ns)).items;
          const byName = new Map(items.map((o) => [o.metadata.name, o]));
          const done = created.every((o) => {
            const r = byName.get(o.name);
            return (
              (r?.status as CanaryReleaseStatus | undefined)?.observedGeneration === r?.metadata.generation
            );
          });
          return done ? byName : undefined;
        },
        Math.max(60_000, created.length * 1000),
        250,
      );
      const tTaken = Date.now();
      for (const o of created) {
        const s = statuses.get(o.name)!.status as CanaryReleaseStatus;
        const valid = s.conditions?.find((c) => c.type === 'Valid');
        if (!o.zodValid) {
          if (s.phase !== 'Invalid' || valid?.status !== 'False' || !/\.spec\./.test(valid.message))
            result.breaks.push(
              `${o.name}: zod refuses (${o.zodFields.join(', ')}) but the operator says ${s.phase}, Valid ${valid?.status}: ${valid?.message}`,
            );
          else result.invalidByOperator++;
        } else if (s.phase === 'Invalid') {
          result.breaks.push(`${o.name}: valid, but the operator says Invalid: ${valid?.message}`);
        } else result.valid++;
      }
      const now = must(await client.get(VIRTUAL_SERVICES, { namespace: ns, name: SENTINEL }));
      if (now.metadata.resourceVersion !== vs.metadata.resourceVersion)
        result.breaks.push(
          `batch ${start / batch + 1}: VirtualService ${SENTINEL} was changed: ${JSON.stringify(now.spec)}`,
        );
      await custom.deleteCollectionNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ns,
        labelSelector: 'fuzz=case',
      });
      await waitFor(
        'the batch to be deleted',
        async () => (must(await client.list(CANARY_RELEASES, ns)).items.length === 0 ? true : undefined),
        30_000,
      );
      log(
        `fuzz: ${Math.min(start + batch, cases.length)}/${cases.length} cases; refused by the apiserver ${result.refusedByApiserver}, Invalid ${result.invalidByOperator}, valid ${result.valid}, breaks ${result.breaks.length}; batch: created in ${tCreated - tb} ms, taken up in ${tTaken - tCreated} ms, deleted in ${Date.now() - tTaken} ms`,
      );
      await sleep(0);
    }
  } finally {
    const wasAlive = alive;
    await killHard(op);
    alive = wasAlive;
    await namespace.dispose();
  }
  return {
    cases: cases.length,
    ...result,
    operatorErrors: op.errors,
    operatorAlive: alive,
    ms: Date.now() - t0,
  };
}
