/**
 * MESH802: an App whose routes or policies cannot apply because its namespace does not inject the
 * sidecar is a warning; a namespace that merely lacks the label stays MESH801's info.
 */
import { Testing } from 'cdk8s';
import { App, Mesh, ZeroTrustPolicy } from '../../../constructs/index.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { ap, baseMesh, pa, vs } from './fixtures.js';

const ns = (labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'default', ...(labels ? { labels } : {}) },
});
const lint = (namespace: KubeObject, ...extra: KubeObject[]) =>
  validate(
    buildModel(
      [...baseMesh().filter((o) => o.kind !== 'Namespace'), namespace, ...extra].map((object) => ({
        object,
      })),
    ),
  ).filter((f) => f.code === 'MESH801' || f.code === 'MESH802');
const route = vs('reviews', {
  hosts: ['reviews'],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }],
});

describe('MESH802: routes and policies for a workload without injection', () => {
  test('fails with a warning per workload if the namespace has no label: policies not enforced, routes only from sidecars', () => {
    const found = lint(ns(), route, pa('default', { mtls: { mode: 'STRICT' } }));
    expect(found.map((f) => [f.code, f.severity, f.object])).toEqual([
      ['MESH802', 'warning', 'Deployment default/productpage-v1'],
      ['MESH802', 'warning', 'Deployment default/ratings-v1'],
      ['MESH802', 'warning', 'Deployment default/reviews-v1'],
      ['MESH802', 'warning', 'Deployment default/reviews-v2'],
      ['MESH801', 'info', 'Namespace default/default'],
    ]);
    expect(found.find((f) => f.object === 'Deployment default/reviews-v1')?.message).toBe(
      'reviews-v1 runs without the Envoy sidecar (namespace default has no istio-injection or istio.io/rev label): PeerAuthentication default/default is not enforced on it; VirtualService default/reviews applies only to callers that have a sidecar',
    );
  });

  test('fails if injection is disabled (where MESH801 is silent), even for pods labelled to opt in', () => {
    const labelled = baseMesh()
      .filter((o) => o.metadata?.name === 'reviews-v1')
      .map((o) => {
        const c = structuredClone(o) as {
          spec: { template: { metadata: { labels: Record<string, string> } } };
        };
        c.spec.template.metadata.labels['sidecar.istio.io/inject'] = 'true';
        return c as unknown as KubeObject;
      });
    const found = validate(
      buildModel(
        [
          ...baseMesh().filter((o) => o.kind !== 'Namespace' && o.metadata?.name !== 'reviews-v1'),
          ns({ 'istio-injection': 'disabled' }),
          ...labelled,
          route,
        ].map((object) => ({ object })),
      ),
    ).filter((f) => f.code.startsWith('MESH80'));
    expect(found.map((f) => [f.code, f.object])).toEqual([
      ['MESH802', 'Deployment default/reviews-v1'],
      ['MESH802', 'Deployment default/reviews-v2'],
    ]);
    expect(found[0]!.message).toContain('(namespace default has istio-injection: disabled)');
  });

  test('near misses: an injected namespace (label or revision), a pod that opts in, or nothing that applies', () => {
    expect(lint(ns({ 'istio-injection': 'enabled' }), route)).toEqual([]);
    expect(lint(ns({ 'istio.io/rev': 'canary' }), route)).toEqual([]);
    // Nothing selects or routes to the workloads: the namespace's info only.
    expect(
      lint(ns(), ap('x', { selector: { matchLabels: { app: 'nothing' } }, rules: [{}] })).map((f) => f.code),
    ).toEqual(['MESH801']);
    // A pod label opts in where the namespace says nothing.
    const optIn = baseMesh().map((o) => {
      if (o.kind !== 'Deployment') return o;
      const c = structuredClone(o) as {
        spec: { template: { metadata: { labels: Record<string, string> } } };
      };
      c.spec.template.metadata.labels['sidecar.istio.io/inject'] = 'true';
      return c as unknown as KubeObject;
    });
    const found = validate(
      buildModel([...optIn.filter((o) => o.kind !== 'Namespace'), ns(), route].map((object) => ({ object }))),
    ).filter((f) => f.code.startsWith('MESH80'));
    expect(found.map((f) => f.code)).toEqual(['MESH801']);
  });

  test('a Mesh with sidecarInjection: false and a ZeroTrustPolicy warns at synth-time validation', () => {
    const mesh = new Mesh(Testing.app(), 'm', { sidecarInjection: false });
    const web = new App(mesh, 'web', { image: 'web:1', port: 8080 });
    web.addRoute({ to: [{ subset: 'v1' }] });
    new ZeroTrustPolicy(mesh, 'zt');
    const found = validate(mesh.model()).filter((f) => f.code === 'MESH802');
    expect(found.map((f) => [f.severity, f.where])).toEqual([['warning', 'm/web/Deployment-v1/Resource']]);
    expect(found[0]!.message).toMatch(
      /^web-v1 runs without the Envoy sidecar \(namespace default has istio-injection: disabled\): /,
    );
  });
});

describe("the model's sidecar flag follows Istio's injector webhooks", () => {
  const pod = (labels: Record<string, string>, annotations: Record<string, string>): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-v1', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', ...labels }, annotations },
        spec: { containers: [{ name: 'web', image: 'web:1' }] },
      },
    },
  });
  const L = (v: string) => ({ 'sidecar.istio.io/inject': v });
  // [namespace labels (undefined: no Namespace object), pod labels, pod annotations, injected]
  const rows: [
    Record<string, string> | undefined,
    Record<string, string>,
    Record<string, string>,
    boolean,
  ][] = [
    [undefined, {}, {}, true], // no Namespace in the input: assume the usual injected mesh
    [undefined, L('false'), {}, false],
    [{ 'istio-injection': 'enabled' }, {}, {}, true],
    [{ 'istio-injection': 'enabled' }, L('false'), {}, false],
    [{ 'istio-injection': 'enabled' }, {}, L('false'), false],
    [{ 'istio.io/rev': 'canary' }, {}, {}, true],
    [{ 'istio.io/rev': 'canary' }, L('false'), {}, false],
    [{}, {}, {}, false], // the namespace says nothing: only a pod label opts in
    [{}, L('true'), {}, true],
    [{}, {}, L('true'), false], // the object selector reads labels, not annotations
    [{ 'istio-injection': 'disabled' }, L('true'), {}, false], // a pod cannot override disabled
    [{ 'istio-injection': 'disabled', 'istio.io/rev': 'canary' }, {}, {}, false],
    [{ 'istio-injection': 'yes' }, {}, {}, false], // only "enabled" injects
  ];
  test.each(rows)(
    'namespace %j, pod labels %j, annotations %j → sidecar %s',
    (nsLabels, labels, ann, want) => {
      const model = buildModel(
        [...(nsLabels ? [ns(nsLabels)] : []), pod(labels, ann)].map((object) => ({ object })),
      );
      expect(model.workloads.map((w) => [w.name, w.sidecar])).toStrictEqual([['web-v1', want]]);
    },
  );
});
