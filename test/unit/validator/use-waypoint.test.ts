/**
 * MESH958: `istio.io/use-waypoint` on a namespace, a Service or a pod naming a waypoint Gateway that
 * does not exist (or is not of class istio-waypoint): traffic then passes no waypoint, and the L7
 * policies and routes meant for it are not applied.
 */
import { describe, expect, test } from '@jest/globals';
import { explain } from '../../../mesh/explain/explain.js';
import { buildModel, type KubeObject, type MeshModel } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import { baseMesh } from './fixtures.js';

const waypoint = (name: string, namespace = 'default', gatewayClassName = 'istio-waypoint'): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace, labels: { 'istio.io/waypoint-for': 'service' } },
  spec: { gatewayClassName, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
});

/** The base mesh in ambient mode, with `labels` added to the object of `kind` named `name`. */
function ambient(extra: KubeObject[], label: { kind: string; name: string; labels: Record<string, string> }) {
  const objects = baseMesh().map((o) => {
    const md = o.metadata ?? {};
    if (o.kind === 'Namespace') {
      o = { ...o, metadata: { ...md, labels: { 'istio.io/dataplane-mode': 'ambient' } } };
    }
    if (o.kind === label.kind && o.metadata?.name === label.name) {
      if (o.kind === 'Deployment') {
        const spec = o.spec as { template: { metadata: { labels: Record<string, string> } } };
        return {
          ...o,
          spec: {
            ...spec,
            template: {
              ...spec.template,
              metadata: { labels: { ...spec.template.metadata.labels, ...label.labels } },
            },
          },
        };
      }
      return {
        ...o,
        metadata: { ...o.metadata, labels: { ...(o.metadata?.labels ?? {}), ...label.labels } },
      };
    }
    return o;
  });
  const m = buildModel([...objects, ...extra].map((object) => ({ object })));
  expect(m.invalid.map((i) => `${i.kind}/${i.name}: ${i.problems.join('; ')}`)).toEqual([]);
  return m;
}
const mesh958 = (m: MeshModel) =>
  validate(m)
    .filter((f) => f.code === 'MESH958')
    .map((f) => [f.object, f.message]);

const NOT_APPLIED =
  'traffic is not sent through a waypoint, so the L7 policies and routes meant for it are not applied';

describe('MESH958: istio.io/use-waypoint names a waypoint that does not exist', () => {
  test.each([
    ['a Service', 'Service', 'reviews', 'Service default/reviews', 'Service default/reviews'],
    ['a namespace', 'Namespace', 'default', 'Namespace default/default', 'namespace default'],
    [
      'a pod',
      'Deployment',
      'reviews-v1',
      'Deployment default/reviews-v1',
      'the pods of Deployment default/reviews-v1',
    ],
  ])('fails if %s names a missing waypoint', (_, kind, name, object, what) => {
    const m = ambient([waypoint('waypoint')], {
      kind,
      name,
      labels: { 'istio.io/use-waypoint': 'reviews-wp' },
    });
    expect(mesh958(m)).toStrictEqual([
      [object, `istio.io/use-waypoint=reviews-wp on ${what}: no Gateway default/reviews-wp; ${NOT_APPLIED}`],
    ]);
  });

  test('fails if the Gateway it names is not a waypoint', () => {
    const m = ambient([waypoint('reviews-wp', 'default', 'istio')], {
      kind: 'Service',
      name: 'reviews',
      labels: { 'istio.io/use-waypoint': 'reviews-wp' },
    });
    expect(mesh958(m)).toStrictEqual([
      [
        'Service default/reviews',
        `istio.io/use-waypoint=reviews-wp on Service default/reviews: Gateway default/reviews-wp is of class istio, not istio-waypoint; ${NOT_APPLIED}`,
      ],
    ]);
  });

  test('an existing waypoint, `none`, and a waypoint namespace not in the input are not reported', () => {
    expect(
      mesh958(
        ambient([waypoint('reviews-wp')], {
          kind: 'Service',
          name: 'reviews',
          labels: { 'istio.io/use-waypoint': 'reviews-wp' },
        }),
      ),
    ).toStrictEqual([]);
    expect(
      mesh958(ambient([], { kind: 'Service', name: 'reviews', labels: { 'istio.io/use-waypoint': 'none' } })),
    ).toStrictEqual([]);
    expect(
      mesh958(
        ambient([], {
          kind: 'Service',
          name: 'reviews',
          labels: { 'istio.io/use-waypoint': 'shared', 'istio.io/use-waypoint-namespace': 'istio-waypoints' },
        }),
      ),
    ).toStrictEqual([]);
  });

  test('fails if use-waypoint-namespace points where the named waypoint is not', () => {
    const m = ambient([waypoint('shared', 'default'), waypoint('other', 'infra')], {
      kind: 'Service',
      name: 'reviews',
      labels: { 'istio.io/use-waypoint': 'shared', 'istio.io/use-waypoint-namespace': 'infra' },
    });
    expect(mesh958(m)).toStrictEqual([
      [
        'Service default/reviews',
        `istio.io/use-waypoint=shared (istio.io/use-waypoint-namespace=infra) on Service default/reviews: no Gateway infra/shared; ${NOT_APPLIED}`,
      ],
    ]);
  });

  test('explain then sends the request past no waypoint', () => {
    const m = ambient([], {
      kind: 'Service',
      name: 'reviews',
      labels: { 'istio.io/use-waypoint': 'reviews-wp' },
    });
    const e = explain(m, { from: 'productpage', host: 'reviews' });
    expect(e.destinations.map((d) => [d.workloads.length > 0, d.waypoint])).toStrictEqual([
      [true, undefined],
    ]);
  });
});
