/**
 * A fast-check generator of meshes with broken objects: the clean fixture mesh with some of its
 * objects mutated at a random field into a wrong type, null, a huge string, a deeply nested value
 * or an object with prototype keys. Shared by the unit fuzz test and `bench/reliability-hostile-input.bench.ts`.
 */
import fc from 'fast-check';
import { explain, ExplainError } from '../../../mesh/explain/index.js';
import { meshGraphSvg } from '../../../mesh/explain/graph.js';
import { reachability } from '../../../mesh/explain/reachability.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { baseMesh } from '../validator/fixtures.js';

/** Cases per run: a short run in `npm test`, a long one in the benchmark. */
export const HOSTILE_RUNS = { test: 150, bench: 3000 } as const;

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** Values that parse (as YAML or JSON would give them) but break a schema. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string(),
  fc.constant('x'.repeat(200_000)),
  fc.constant(nested(150)),
  fc.constant(nested(5_000)),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}')),
  fc.constant(JSON.parse('[{"__proto__": null}, "toString", {"hasOwnProperty": 1}]')),
  fc.array(fc.constantFrom(null, 1, 'a', {}, []), { maxLength: 4 }),
  fc.dictionary(
    fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'host', 'regex'),
    fc.anything(),
    { maxKeys: 3 },
  ),
  fc.constantFrom('(a+)+$', '(?=x)', '(a)\\1', '[[:alpha:]]+', '\\'),
);

/** Every path into `v` (objects and arrays), up to `max`, as key lists. */
function paths(v: unknown, max = 200): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: [unknown, (string | number)[]][] = [[v, []]];
  while (stack.length && out.length < max) {
    const [x, at] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    for (const [k, c] of Object.entries(x)) {
      const p = [...at, Array.isArray(x) ? Number(k) : k];
      out.push(p);
      stack.push([c, p]);
    }
  }
  return out;
}

/** `o` with the value at `path` replaced (a deep copy; own keys only). */
function setAt(o: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const [k, ...rest] = path;
  if (Array.isArray(o)) return o.map((x, i) => (i === k ? setAt(x, rest, value) : x));
  const src = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
  return Object.fromEntries([
    ...Object.entries(src).filter(([key]) => key !== k),
    [k, setAt(src[k as string], rest, value)],
  ]);
}

/** The fixture mesh with 1 to 4 mutations, each at a random field of a random object. */
export function hostileMesh(): fc.Arbitrary<KubeObject[]> {
  const base = baseMesh();
  const mutation = fc.record({
    object: fc.nat({ max: base.length - 1 }),
    path: fc.nat(),
    value: hostileValue,
  });
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => {
    const objects: unknown[] = [...base];
    for (const m of ms) {
      const ps = paths(objects[m.object]);
      const p = ps[m.path % ps.length] ?? [];
      objects[m.object] = setAt(objects[m.object], p, m.value);
    }
    return objects as KubeObject[];
  });
}

/** One run of every command on `objects`; throws only on what must not happen. */
export async function survive(objects: KubeObject[]): Promise<{ findings: number; invalid: number }> {
  const model = buildModel(
    objects.map((object, i) => ({ object, origin: { file: 'fuzz.yaml', line: i * 10 + 1 } })),
  );
  const findings = validate(model);
  const crashed = findings.filter((f) => f.code === 'MESH000');
  if (crashed.length) throw new Error(`a rule failed: ${crashed.map((f) => f.message).join('; ')}`);
  for (const f of findings.filter((x) => x.code === 'MESH001'))
    if (!/^fuzz\.yaml:.+:\d+$/.test(f.where) || !/^.+ .+\/.+$/.test(f.object))
      throw new Error(`MESH001 without file or object: ${JSON.stringify(f)}`);
  for (const host of ['reviews', 'ratings.default.svc.cluster.local', 'nowhere']) {
    try {
      explain(model, {
        from: 'productpage',
        host,
        path: '/x',
        headers: { 'end-user': 'jason', constructor: 'x' },
      });
    } catch (e) {
      if (!(e instanceof ExplainError)) throw e; // a caller the model lacks is a clear error; anything else is not
    }
  }
  reachability(model);
  await meshGraphSvg(model, { title: 'fuzz' });
  return { findings: findings.length, invalid: model.invalid.length };
}
