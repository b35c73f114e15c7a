/**
 * Protocols as Istio treats them: a call to a TCP port is a connection (no method, path or HTTP
 * route; an ALLOW rule with HTTP-only fields never matches it, a DENY rule matches it without
 * them), and a call to a gRPC port is a POST.
 */
import { explain, formatExplanation } from '../../../mesh/explain/index.js';
import { reachability } from '../../../mesh/explain/reachability.js';
import { buildModel, type DeclaredCall, type KubeObject } from '../../../mesh/model/index.js';
import { deniedDeclaredCalls } from '../../../mesh/explain/reachability.js';
import { ap, baseMesh, deployment, principal, service, vs } from '../validator/fixtures.js';

const redis = [service('redis', 6379, 'redis'), deployment('redis', 'v1', { port: 6379 })];
const cart = [service('cart', 7070, 'grpc'), deployment('cart', 'v1', { port: 7070 })];
const model = (...extra: KubeObject[]) =>
  buildModel([...baseMesh(), ...redis, ...cart, ...extra].map((object) => ({ object })));
const fromReviews = [{ source: { principals: [principal('bookinfo-reviews')] } }];
const allowRedis = (to?: Record<string, unknown>) =>
  ap('redis-readers', {
    selector: { matchLabels: { app: 'redis' } },
    rules: [{ from: fromReviews, ...(to ? { to: [{ operation: to }] } : {}) }],
  });

describe('a call to a TCP port is a connection', () => {
  test('explain defaults to a TCP connection: no method or path, no GET /', () => {
    const e = explain(model(), { from: 'reviews', host: 'redis' });
    expect(e.protocol).toEqual({ name: 'REDIS', tcp: true });
    expect(e.request.method).toBe('');
    expect(e.request.path).toBe('');
    expect(formatExplanation(e).split('\n')[0]).toBe(
      'TCP connection to redis (REDIS) from Deployment default/reviews-v1',
    );
    expect(e.authorization?.decision).toBe('ALLOW');
  });

  test('a method given for a TCP port is noted as not applying', () => {
    const e = explain(model(), { from: 'reviews', host: 'redis', method: 'GET', path: '/' });
    expect(e.request.method).toBe('');
    expect(e.notes).toContain(
      'redis.default.svc.cluster.local is a REDIS port: the call is a TCP connection, so the method and path do not apply',
    );
  });

  test('fails if an ALLOW rule with methods is all that allows it: Istio drops the rule on TCP', () => {
    const e = explain(model(allowRedis({ methods: ['GET'] })), { from: 'reviews', host: 'redis' });
    expect(e.authorization?.decision).toBe('DENY');
    expect(e.authorization?.reason).toBe(
      'no rule of the ALLOW policies (default/redis-readers) matches; on this TCP port Istio drops the ALLOW rules with HTTP-only fields: default/redis-readers rules[0] (to[0].operation.methods)',
    );
    // The same rule by port allows it.
    const byPort = explain(model(allowRedis({ ports: ['6379'] })), { from: 'reviews', host: 'redis' });
    expect(byPort.authorization).toEqual(
      expect.objectContaining({ decision: 'ALLOW', policy: 'default/redis-readers', rule: 0 }),
    );
  });

  test('a DENY rule with paths denies every connection the rest of it matches', () => {
    const deny = ap('no-admin', {
      selector: { matchLabels: { app: 'redis' } },
      action: 'DENY',
      rules: [{ from: fromReviews, to: [{ operation: { paths: ['/admin'] } }] }],
    });
    expect(explain(model(deny), { from: 'reviews', host: 'redis' }).authorization?.decision).toBe('DENY');
    expect(explain(model(deny), { from: 'ratings', host: 'redis' }).authorization?.decision).toBe('ALLOW');
    // On an HTTP port the same DENY rule needs the path.
    const httpDeny = ap('no-admin', {
      selector: { matchLabels: { app: 'ratings' } },
      action: 'DENY',
      rules: [{ from: fromReviews, to: [{ operation: { paths: ['/admin'] } }] }],
    });
    expect(explain(model(httpDeny), { from: 'reviews', host: 'ratings' }).authorization?.decision).toBe(
      'ALLOW',
    );
  });

  test('a VirtualService routes a TCP port by its tcp rules; its http rules do not apply', () => {
    const split = vs('redis', {
      hosts: ['redis'],
      http: [{ route: [{ destination: { host: 'reviews' } }] }],
      tcp: [{ match: [{ port: 6379 }], route: [{ destination: { host: 'redis' } }] }],
    });
    const e = explain(model(split), { from: 'productpage', host: 'redis', port: 6379 });
    expect(e.route).toEqual({ index: 0, kind: 'tcp', match: 0 });
    expect(e.destinations.map((d) => [d.host, d.probability, d.workloads])).toEqual([
      ['redis.default.svc.cluster.local', 1, ['redis-v1']],
    ]);
    const httpOnly = vs('redis', {
      hosts: ['redis'],
      http: [{ route: [{ destination: { host: 'reviews' } }] }],
    });
    const d = explain(model(httpOnly), { from: 'productpage', host: 'redis' });
    expect(d.route).toBeUndefined();
    expect(d.destinations.map((x) => x.host)).toEqual(['redis.default.svc.cluster.local']);
    expect(d.notes).toContain(
      'VirtualService default/redis has no tcp rule: its http rules do not apply to a TCP port, the default route to the Service does',
    );
  });

  test('reachability answers per connection: an ALLOW with methods denies, one by port allows', () => {
    const cell = (m: ReturnType<typeof model>, from: string) =>
      reachability(m).cells.find((c) => c.from.name === from && c.to === 'default/redis')!;
    expect(cell(model(allowRedis({ methods: ['GET'] })), 'reviews').access).toBe('deny');
    expect(cell(model(allowRedis({ ports: ['6379'] })), 'reviews').access).toBe('allow');
    expect(cell(model(allowRedis({ ports: ['6379'] })), 'ratings').access).toBe('deny');
  });

  test('a declared call to a TCP port that only an ALLOW rule with methods allows is denied (MESH506)', () => {
    const call: DeclaredCall = {
      from: { name: 'reviews', namespace: 'default', principal: principal('bookinfo-reviews') },
      to: { name: 'redis', namespace: 'default' },
      methods: ['GET'],
    };
    const m = buildModel(
      [...baseMesh(), ...redis, allowRedis({ methods: ['GET'] })].map((object) => ({ object })),
      { calls: [call] },
    );
    expect(deniedDeclaredCalls(m).map((d) => [d.call.to.name, d.method, d.result.decision])).toEqual([
      ['redis', '', 'DENY'],
    ]);
  });
});

describe('a call to a gRPC port is a POST', () => {
  test('explain defaults the method to POST', () => {
    const e = explain(model(), {
      from: 'productpage',
      host: 'cart',
      path: '/hipstershop.CartService/GetCart',
    });
    expect(e.protocol).toEqual({ name: 'GRPC', tcp: false });
    expect(e.request.method).toBe('POST');
  });
});
