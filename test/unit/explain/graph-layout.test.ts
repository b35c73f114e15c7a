/**
 * The mesh picture's layout: no two boxes overlap, every line of text stays inside its box and
 * clear of the box's other lines, arrow labels sit where ELK kept room for them (clear of every
 * box and of each other), and every arrow runs from its caller's box to its callee's. Checked on
 * every Bookinfo scenario, on Online Boutique, and on meshes fast-check generates (up to 16
 * services, cycles, services every caller may reach, several versions, gateways, external hosts).
 */
import { Testing } from 'cdk8s';
import fc from 'fast-check';
import {
  layoutMeshGraph,
  meshGraph,
  type GraphLayout,
  type PlacedText,
} from '../../../mesh/explain/graph.js';
import { buildModel, type KubeObject, type MeshModel } from '../../../mesh/model/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';
import { boutique } from '../../../examples/boutique/boutique.js';
import { generateMesh } from '../../harness/oracle-meshes.js';

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width - 0.5 &&
  b.x < a.x + a.width - 0.5 &&
  a.y < b.y + b.height - 0.5 &&
  b.y < a.y + a.height - 0.5;
const inside = (a: Box, outer: Box) =>
  a.x >= outer.x - 0.5 &&
  a.y >= outer.y - 0.5 &&
  a.x + a.width <= outer.x + outer.width + 0.5 &&
  a.y + a.height <= outer.y + outer.height + 0.5;
/** The box a line of text covers: its estimated width, from its ascent above to its descent below the baseline. */
const textBox = (t: PlacedText): Box => ({
  x: t.anchor === 'start' ? t.x : t.anchor === 'end' ? t.x - t.width : t.x - t.width / 2,
  y: t.y - 0.8 * t.size,
  width: t.width,
  height: 1.05 * t.size,
});
const show = (b: Box) => `(${b.x.toFixed(0)},${b.y.toFixed(0)} ${b.width.toFixed(0)}×${b.height.toFixed(0)})`;
const words = (t: PlacedText) => t.runs.map((r) => r.text).join('');

/** Every way the layout breaks the picture's rules, as sentences; empty when it keeps them. */
function problems(l: GraphLayout): string[] {
  const out: string[] = [];
  const all: Box = { x: 0, y: 0, width: l.width, height: l.height };
  l.nodes.forEach((a, i) => {
    if (!inside(a, all)) out.push(`box ${a.key} ${show(a)} is outside the picture ${show(all)}`);
    for (const b of l.nodes.slice(i + 1))
      if (overlap(a, b)) out.push(`boxes ${a.key} ${show(a)} and ${b.key} ${show(b)} overlap`);
    for (const s of a.shapes)
      if (!inside(s, a)) out.push(`a shape of ${a.key} ${show(s)} leaves its box ${show(a)}`);
    const texts = a.texts.map(textBox);
    texts.forEach((t, j) => {
      if (!inside(t, a)) out.push(`"${words(a.texts[j]!)}" ${show(t)} leaves the box of ${a.key} ${show(a)}`);
      texts.slice(j + 1).forEach((u, k) => {
        if (overlap(t, u))
          out.push(`"${words(a.texts[j]!)}" and "${words(a.texts[j + 1 + k]!)}" overlap in ${a.key}`);
      });
    });
  });
  const keys = new Map(l.nodes.map((n) => [n.key, n]));
  l.edges.forEach((e, i) => {
    const label = e.labelBox;
    for (const n of l.nodes)
      if (overlap(label, n))
        out.push(`the label of ${e.from} → ${e.to} ${show(label)} covers the box of ${n.key}`);
    for (const f of l.edges.slice(i + 1))
      if (overlap(label, f.labelBox))
        out.push(`the labels of ${e.from} → ${e.to} and ${f.from} → ${f.to} overlap`);
    for (const t of e.texts)
      if (!inside(textBox(t), label)) out.push(`"${words(t)}" leaves the label box of ${e.from} → ${e.to}`);
    const near = (p: readonly [number, number] | undefined, b: Box | undefined) =>
      !!p &&
      !!b &&
      inside(
        { x: p[0], y: p[1], width: 0, height: 0 },
        { ...b, x: b.x - 2, y: b.y - 2, width: b.width + 4, height: b.height + 4 },
      );
    if (e.points.length < 2) out.push(`${e.from} → ${e.to} has no route`);
    else {
      if (!near(e.points[0], keys.get(e.from))) out.push(`${e.from} → ${e.to} does not start at ${e.from}`);
      if (!near(e.points.at(-1), keys.get(e.to))) out.push(`${e.from} → ${e.to} does not end at ${e.to}`);
    }
  });
  return out;
}

const layoutOf = async (model: MeshModel) => {
  const graph = meshGraph(model);
  const layout = await layoutMeshGraph(graph);
  expect(layout.nodes).toHaveLength(graph.nodes.length);
  expect(layout.edges).toHaveLength(graph.edges.length);
  return layout;
};

describe('graph layout', () => {
  test.each(Object.keys(SCENARIOS) as ScenarioName[])(
    'Bookinfo %s: no overlaps, no text outside its box',
    async (name) => {
      const layout = await layoutOf(buildScenario(Testing.app(), name).mesh.model());
      expect(layout.nodes.length).toBeGreaterThanOrEqual(4);
      expect(problems(layout)).toEqual([]);
    },
  );

  test('Bookinfo zero trust: callers left of callees, ingress first', async () => {
    const layout = await layoutOf(buildScenario(Testing.app(), 'zero-trust-call-graph').mesh.model());
    const x = (key: string) => layout.nodes.find((n) => n.key === key)!.x;
    expect(x('ingress')).toBeLessThan(x('default/productpage'));
    expect(x('default/productpage')).toBeLessThan(x('default/reviews'));
    expect(x('default/reviews')).toBeLessThan(x('default/ratings'));
    expect(layout.edges.length).toBeGreaterThanOrEqual(4);
  });

  test('Online Boutique (12 services, gRPC, TCP, external hosts): no overlaps, no text outside its box', async () => {
    process.env.CDK8S_MESH_WARNINGS ??= 'off';
    const b = boutique(Testing.app(), 'boutique');
    const layout = await layoutOf(b.mesh.model());
    expect(layout.nodes.length).toBeGreaterThanOrEqual(12);
    expect(layout.nodes.some((n) => n.kind === 'external')).toBe(true);
    expect(problems(layout)).toEqual([]);
    // Compact: the old hand-made columns stretched a cycle to 5,600 px.
    expect(layout.width).toBeLessThan(4000);
  });

  test('Online Boutique: the load generator (a Client, no Service) is a caller box left of frontend', async () => {
    process.env.CDK8S_MESH_WARNINGS ??= 'off';
    const b = boutique(Testing.app(), 'boutique');
    const graph = meshGraph(b.mesh.model());
    expect(graph.nodes.find((n) => n.kind === 'client')).toEqual({
      key: 'client:default/loadgenerator',
      kind: 'client',
      title: 'loadgenerator',
      subtitle: 'default · client, no Service',
      rows: [],
      notes: ['1 pod(s), sidecar', 'ServiceAccount loadgenerator'],
    });
    expect(graph.edges.filter((e) => e.from === 'client:default/loadgenerator')).toEqual([
      {
        from: 'client:default/loadgenerator',
        to: 'default/frontend',
        label: 'GET POST · mTLS',
        kind: 'declared',
      },
    ]);
    const layout = await layoutOf(b.mesh.model());
    const x = (key: string) => layout.nodes.find((n) => n.key === key)!.x;
    expect(x('client:default/loadgenerator')).toBeLessThan(x('default/frontend'));
  });

  test('clients with declared calls (denied ones too) get boxes and arrows; clients that call nothing do not', async () => {
    const objects = Testing.synth(buildScenario(Testing.app(), 'zero-trust-call-graph').mesh) as KubeObject[];
    const client = (name: string): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { serviceAccountName: name, containers: [{ name, image: `${name}:1` }] },
        },
      },
    });
    const calls = ['reviews', 'ratings', 'details'].map((to, i) => ({
      from: { name: `job-${i}`, namespace: 'default', principal: `cluster.local/ns/default/sa/job-${i}` },
      to: { name: to, namespace: 'default' },
    }));
    const model = buildModel(
      [...objects, client('job-0'), client('job-1'), client('job-2'), client('idle')].map((object) => ({
        object,
      })),
      { calls },
    );
    const graph = meshGraph(model);
    expect(graph.nodes.filter((n) => n.kind === 'client').map((n) => n.key)).toEqual([
      'client:default/job-0',
      'client:default/job-1',
      'client:default/job-2',
    ]);
    expect(
      graph.edges.filter((e) => e.from.startsWith('client:')).map((e) => `${e.from} → ${e.to}: ${e.kind}`),
    ).toEqual([
      'client:default/job-0 → default/reviews: denied',
      'client:default/job-1 → default/ratings: denied',
      'client:default/job-2 → default/details: denied',
    ]);
    const layout = await layoutOf(model);
    expect(problems(layout)).toEqual([]);
  });

  test('fails if two boxes overlap or a line leaves its box (the check can fail)', async () => {
    const layout = await layoutOf(buildScenario(Testing.app(), 'zero-trust').mesh.model());
    const [a, b] = layout.nodes;
    const moved: GraphLayout = {
      ...layout,
      nodes: [a!, { ...b!, x: a!.x + 5, y: a!.y + 5 }, ...layout.nodes.slice(2)],
    };
    expect(problems(moved).join('\n')).toMatch(/^boxes .* overlap$/m);
    const long = { ...a!.texts[0]!, width: a!.width * 2 };
    const spilled: GraphLayout = { ...layout, nodes: [{ ...a!, texts: [long] }, ...layout.nodes.slice(1)] };
    expect(problems(spilled).join('\n')).toMatch(/leaves the box of/);
  });

  test('generated meshes: no overlaps, no text outside its box', async () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/);
    const mesh = fc
      .record({
        names: fc.uniqueArray(name, { minLength: 1, maxLength: 16 }),
        versions: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 16, maxLength: 16 }),
        replicas: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }),
        calls: fc.array(fc.tuple(fc.nat(15), fc.nat(15)), { maxLength: 40 }),
        open: fc.array(fc.nat(15), { maxLength: 3 }),
        routed: fc.array(fc.tuple(fc.nat(15), fc.integer({ min: 0, max: 100 }), fc.option(name)), {
          maxLength: 6,
        }),
        gateway: fc.array(fc.nat(15), { maxLength: 4 }),
        external: fc.array(fc.domain(), { maxLength: 3 }),
        lockdown: fc.boolean(),
      })
      .map((g) => generated(g));
    const seen = { meshes: 0, edges: 0, largest: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: mesh },
          { weight: 1, arbitrary: fc.nat().map((s) => generateMesh(s).objects) },
        ),
        async (objects) => {
          const layout = await layoutOf(buildModel(objects.map((object) => ({ object }))));
          seen.meshes++;
          seen.edges += layout.edges.length;
          seen.largest = Math.max(seen.largest, layout.nodes.length);
          const found = problems(layout);
          if (found.length) throw new Error(found.slice(0, 5).join('\n'));
        },
      ),
      { numRuns: 40, seed: 13, interruptAfterTimeLimit: 60_000 },
    );
    // The generator does make large pictures with arrows.
    expect(seen.meshes).toBeGreaterThanOrEqual(20);
    expect(seen.edges).toBeGreaterThan(seen.meshes);
    expect(seen.largest).toBeGreaterThanOrEqual(12);
  }, 120_000);
});

/** A mesh from the generator's choices: Services with versions, calls allowed by principal, routes, a gateway, external hosts. */
function generated(g: {
  names: string[];
  versions: number[];
  replicas: number[];
  calls: [number, number][];
  open: number[];
  routed: [number, number, string | null][];
  gateway: number[];
  external: string[];
  lockdown: boolean;
}): KubeObject[] {
  const ns = 'default';
  const at = (i: number) => g.names[i % g.names.length]!;
  const istio = (group: string, kind: string, name: string, spec: unknown): KubeObject => ({
    apiVersion: `${group}.istio.io/v1`,
    kind,
    metadata: { name, namespace: ns },
    spec,
  });
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'enabled' } } },
  ];
  g.names.forEach((app, i) => {
    const versions = Array.from({ length: g.versions[i]! }, (_, v) => `v${v + 1}`);
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: app, namespace: ns },
      spec: { selector: { app }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
    });
    for (const version of versions)
      objects.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `${app}-${version}`, namespace: ns },
        spec: {
          replicas: g.replicas[i]!,
          selector: { matchLabels: { app, version } },
          template: {
            metadata: { labels: { app, version } },
            spec: {
              serviceAccountName: app,
              containers: [{ name: app, image: `${app}:${version}`, ports: [{ containerPort: 8080 }] }],
            },
          },
        },
      });
    objects.push(
      istio('networking', 'DestinationRule', app, {
        host: app,
        subsets: versions.map((v) => ({ name: v, labels: { version: v } })),
      }),
    );
  });
  for (const [i, weight, header] of g.routed) {
    const app = at(i);
    objects.push(
      istio('networking', 'VirtualService', `${app}-routes`, {
        hosts: [app],
        http: [
          ...(header
            ? [
                {
                  match: [{ headers: { 'end-user': { exact: header } } }],
                  route: [{ destination: { host: app, subset: 'v1' } }],
                },
              ]
            : []),
          {
            route: [
              { destination: { host: app, subset: 'v1' }, weight },
              { destination: { host: app, subset: 'v2' }, weight: 100 - weight },
            ],
          },
        ],
      }),
    );
  }
  if (g.lockdown) objects.push(istio('security', 'AuthorizationPolicy', 'allow-nothing', {}));
  const callers = new Map<string, Set<string>>();
  for (const [a, b] of g.calls) callers.set(at(b), (callers.get(at(b)) ?? new Set()).add(at(a)));
  for (const [callee, from] of callers)
    objects.push(
      istio('security', 'AuthorizationPolicy', `${callee}-callers`, {
        selector: { matchLabels: { app: callee } },
        action: 'ALLOW',
        rules: [
          {
            from: [{ source: { principals: [...from].map((c) => `cluster.local/ns/${ns}/sa/${c}`) } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ],
      }),
    );
  for (const i of g.open)
    objects.push(
      istio('security', 'AuthorizationPolicy', `${at(i)}-open`, {
        selector: { matchLabels: { app: at(i) } },
        action: 'ALLOW',
        rules: [{}],
      }),
    );
  if (g.gateway.length)
    objects.push(
      istio('networking', 'Gateway', 'shop', {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['shop.example.com'] }],
      }),
      istio('networking', 'VirtualService', 'shop', {
        hosts: ['shop.example.com'],
        gateways: ['shop'],
        http: g.gateway.map((i) => ({
          match: [{ uri: { prefix: `/${at(i)}` } }],
          route: [{ destination: { host: at(i) } }],
        })),
      }),
    );
  g.external.forEach((host, i) =>
    objects.push(
      istio('networking', 'ServiceEntry', `external-${i}`, {
        hosts: [host],
        ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
      }),
    ),
  );
  return objects;
}
