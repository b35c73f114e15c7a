/**
 * Every Bookinfo scenario, asserted with the mesh matchers the way a user would test their own
 * mesh: where a request goes (with its shares), faults, and who is allowed. Upstream's expected
 * behaviour is the reference: samples/bookinfo/networking/ of Istio 1.30.3 and the zero-trust
 * write-up. A scenario added to SCENARIOS without a case here fails the first test.
 */
import { Testing } from 'cdk8s';
import { meshMatchers, to } from '../../../mesh/explain/matchers.js';
import type { Mesh } from '../../../constructs/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';

expect.extend(meshMatchers);

const jason = { 'end-user': 'jason' };
const mike = { 'end-user': 'mike' };
const pp = (host: string, headers = {}) => ({ from: 'productpage', host, headers });
const fromReviews = (headers = {}) => ({ from: 'reviews', host: 'ratings', headers });

const CASES: Record<ScenarioName, (mesh: Mesh) => void> = {
  platform: (mesh) => {
    // No VirtualService: the Service spreads requests over every version's pods.
    expect(mesh).toRoute(pp('reviews'), to('reviews'));
    expect(mesh).not.toRoute(pp('reviews'), to('reviews', 'v1'));
    expect(mesh.explain(pp('reviews')).destinations[0]!.workloads).toEqual([
      'reviews-v1',
      'reviews-v2',
      'reviews-v3',
    ]);
    expect(mesh).toAllow(pp('details'));
  },
  gateway: (mesh) => {
    const gw = (path: string) => ({ from: 'ingress', host: 'bookinfo.example.com', port: 8080, path });
    for (const path of ['/productpage', '/static/x.css', '/login', '/logout', '/api/v1/products/1'])
      expect(mesh).toRoute(gw(path), to('productpage'));
    expect(mesh).not.toRoute(gw('/admin'));
  },
  'gateway-https': (mesh) => {
    const req = { from: 'ingress', host: 'bookinfo.example.com', port: 443, path: '/productpage' };
    expect(mesh).toRoute(req, to('productpage'));
    expect(mesh).not.toRoute({ ...req, host: 'other.example.com' });
  },
  'all-v1': (mesh) => {
    for (const host of ['productpage', 'reviews', 'ratings', 'details']) {
      expect(mesh).toRoute(pp(host), to(host, 'v1'));
      expect(mesh).toRoute(pp(host, jason), to(host, 'v1'));
    }
  },
  'reviews-jason-v2': (mesh) => {
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v2'));
    expect(mesh).toRoute(pp('reviews', mike), to('reviews', 'v1'));
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v1'));
  },
  'reviews-jason-v2-v3': (mesh) => {
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v2'));
    expect(mesh).toRoute(pp('reviews', mike), to('reviews', 'v3'));
  },
  'reviews-50-v3': (mesh) =>
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v1', 50), to('reviews', 'v3', 50)),
  'reviews-80-20': (mesh) =>
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v1', 80), to('reviews', 'v2', 20)),
  'reviews-90-10': (mesh) =>
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v1', 90), to('reviews', 'v2', 10)),
  'reviews-v2-v3': (mesh) =>
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v2', 50), to('reviews', 'v3', 50)),
  'reviews-v3': (mesh) => {
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v3'));
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v3'));
  },
  'reviews-random-lb': (mesh) => {
    // The load balancer is the DestinationRule's; routing is still the Service's.
    expect(mesh).toRoute(pp('reviews'), to('reviews'));
    expect(mesh.explain(pp('reviews')).destinations[0]!.destinationRule).toBe('default/reviews');
  },
  'jason-delay': (mesh) => {
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v2'));
    expect(mesh).toInjectFault(fromReviews(jason), { delay: '7s' });
    expect(mesh).toRoute(fromReviews(jason), to('ratings', 'v1'));
    expect(mesh).not.toInjectFault(fromReviews(mike), { delay: '7s' });
    expect(mesh).toRoute(fromReviews(), to('ratings', 'v1'));
  },
  'jason-abort': (mesh) => {
    expect(mesh).toRoute(pp('reviews', jason), to('reviews', 'v2'));
    expect(mesh).toInjectFault(fromReviews(jason), { abort: 500 });
    expect(mesh).not.toInjectFault(fromReviews(), { abort: 500 });
  },
  'details-v2': (mesh) => {
    // Upstream routes to a version bookinfo.yaml does not deploy: the request cannot be served.
    expect(mesh).not.toRoute(pp('details'), to('details', 'v2'));
    expect(mesh.explain(pp('details')).destinations).toEqual([
      expect.objectContaining({ subset: 'v2', problem: expect.stringContaining('503 UH') }),
    ]);
  },
  'details-abort': (mesh) => {
    expect(mesh).toInjectFault(pp('details'), { abort: 555 });
    expect(mesh).toInjectFault(pp('details', jason), { abort: 555 });
    expect(mesh).toRoute(pp('details'), to('details', 'v1'));
  },
  'ratings-db': (mesh) => {
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v3'));
    expect(mesh.explain(fromReviews()).destinations).toEqual([
      expect.objectContaining({ subset: 'v2', workloads: [], problem: expect.stringContaining('503 UH') }),
    ]);
  },
  'ratings-mysql': (mesh) => {
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v3'));
    expect(mesh).not.toRoute(fromReviews(), to('ratings', 'v2-mysql'));
    expect(mesh.explain(fromReviews()).destinations[0]).toMatchObject({ subset: 'v2-mysql', workloads: [] });
  },
  'ratings-mysql-vm': (mesh) => {
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v3'));
    expect(mesh).not.toRoute(fromReviews(), to('ratings', 'v2-mysql-vm'));
    expect(mesh.explain(fromReviews()).destinations[0]).toMatchObject({
      subset: 'v2-mysql-vm',
      workloads: [],
    });
  },
  'mtls-strict': (mesh) => {
    expect(mesh).toAllow(pp('reviews'));
    expect(mesh.explain(pp('reviews')).tls).toMatchObject({
      client: 'ISTIO_MUTUAL',
      server: 'STRICT',
      ok: true,
    });
    // A client without a sidecar speaks plain text: STRICT refuses the connection.
    expect(mesh.explain({ from: 'outside', host: 'reviews.default.svc.cluster.local' }).tls).toMatchObject({
      client: 'DISABLE',
      ok: false,
    });
  },
  'zero-trust': (mesh) => {
    expect(mesh).toAllow({ from: 'outside', host: 'productpage.default.svc.cluster.local' });
    expect(mesh).toDeny(
      { from: 'outside', host: 'productpage.default.svc.cluster.local', method: 'POST' },
      'default/allow-nothing',
    );
    expect(mesh).toAllow(pp('details'));
    expect(mesh).toAllow(pp('reviews'));
    expect(mesh).toDeny({ ...pp('reviews'), method: 'DELETE' });
    expect(mesh).toDeny(pp('ratings'), 'default/allow-nothing');
    expect(mesh).toDeny({ from: 'details', host: 'reviews' });
    expect(mesh.explain(fromReviews())).toBeDenied('default/allow-nothing');
  },
  'zero-trust-call-graph': (mesh) => {
    expect(mesh).toAllow({ from: 'ingress', host: 'bookinfo.example.com', port: 8080, path: '/productpage' });
    expect(mesh).toAllow(pp('details'));
    expect(mesh).toAllow(pp('reviews'));
    expect(mesh).toAllow(fromReviews(jason));
    expect(mesh).toDeny(pp('ratings'));
    expect(mesh).toDeny({ from: 'ratings', host: 'reviews' });
    expect(mesh).toDeny({ from: 'details', host: 'productpage' });
  },
  'ingress-port-mtls-exception': (mesh) => {
    const req = { from: 'ingress', host: 'www.example.com', port: 80 };
    expect(mesh).toRoute(req, to('nginx-app'));
    expect(mesh).toAllow(req);
    expect(mesh.explain(req).tls).toMatchObject({ client: 'DISABLE', server: 'DISABLE', ok: true });
    expect(mesh).not.toRoute({ ...req, host: 'bookinfo.example.com' });
  },
  'canary-reviews-v3': (mesh) => {
    // The release starts at stable 100 / canary 0 on its route "primary".
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v1', 100));
    expect(mesh).not.toRoute(pp('reviews'), to('reviews', 'v3'));
    expect(mesh.explain(pp('reviews')).route).toMatchObject({ name: 'primary' });
  },
  resilience: (mesh) => {
    expect(mesh).toRoute(pp('reviews'), to('reviews', 'v2'));
    expect(mesh.explain(pp('reviews'))).toMatchObject({
      timeout: '3s',
      retries: { attempts: 2, perTryTimeout: '1s' },
      mirror: { subset: 'v3', percentage: 10 },
    });
    expect(mesh).toRoute(fromReviews(), to('ratings'));
  },
};

test('every scenario has a case', () => {
  expect(Object.keys(CASES).sort()).toEqual(Object.keys(SCENARIOS).sort());
});

test.each(Object.keys(SCENARIOS) as ScenarioName[])('%s behaves as upstream says', (name) => {
  CASES[name](buildScenario(Testing.app(), name).mesh);
});
