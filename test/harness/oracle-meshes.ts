/**
 * A seeded generator of small meshes for the differential test against Istio's config generation:
 * services with subsets; VirtualService matches on headers (exact, prefix, regex), URI, method,
 * query and sourceLabels; weights including 0; faults with and without percentages; timeouts,
 * retries, mirrors; an ingress Gateway with or without httpsRedirect; PeerAuthentication at mesh,
 * namespace, workload and port level; DestinationRule TLS modes; AuthorizationPolicies; callers
 * with and without sidecars. The same seed gives the same mesh.
 */
import type { ExplainRequest } from '../../mesh/explain/index.js';
import type { KubeObject } from '../../mesh/model/index.js';
import { seededRandom } from './traffic/rng.js';

export interface GeneratedMesh {
  readonly seed: number;
  readonly objects: KubeObject[];
  readonly requests: ExplainRequest[];
}

const NS = 'default';
const meta = (name: string, namespace = NS) => ({ name, namespace });

function service(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta(name), labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] },
  };
}

function deployment(app: string, version: string, inject = true): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(`${app}-${version}`),
    spec: {
      replicas: 1,
      selector: { matchLabels: { app, version } },
      template: {
        metadata: {
          labels: { app, version },
          ...(inject ? {} : { annotations: { 'sidecar.istio.io/inject': 'false' } }),
        },
        spec: {
          serviceAccountName: app,
          containers: [{ name: app, image: `${app}:${version}`, ports: [{ containerPort: 9080 }] }],
        },
      },
    },
  };
}

const istio = (group: string, kind: string, name: string, spec: unknown, namespace = NS): KubeObject => ({
  apiVersion: `${group}.istio.io/v1`,
  kind,
  metadata: meta(name, namespace),
  spec,
});

/** The mesh of `seed`. */
export function generateMesh(seed: number): GeneratedMesh {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const versions = ['v1', 'v2', 'v3'];
  const legacy = chance(0.25);
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
    service('productpage'),
    service('reviews'),
    deployment('productpage', 'v1'),
    ...versions.map((v) => deployment('reviews', v)),
    ...(legacy ? [deployment('legacy', 'v1', false)] : []),
  ];

  // DestinationRule: the subsets (sometimes one short), and the client TLS mode.
  const subsets = chance(0.15) ? versions.slice(0, 2) : versions;
  const drTls = pick([undefined, undefined, 'ISTIO_MUTUAL', 'DISABLE']);
  objects.push(
    istio('networking', 'DestinationRule', 'reviews', {
      host: 'reviews',
      ...(drTls ? { trafficPolicy: { tls: { mode: drTls } } } : {}),
      subsets: subsets.map((v) => ({ name: v, labels: { version: v } })),
    }),
  );

  const stringMatch = (values: readonly string[]) => {
    const v = pick(values);
    return pick([{ exact: v }, { prefix: v.slice(0, 2) }, { regex: `${v.slice(0, 1)}.*` }]);
  };
  const matchBlock = () => {
    const m: Record<string, unknown> = {};
    if (chance(0.5)) m.headers = { 'end-user': stringMatch(['jason', 'kim']) };
    if (chance(0.3)) m.uri = stringMatch(['/api', '/r/12']);
    if (chance(0.2)) m.method = { exact: pick(['GET', 'POST']) };
    if (chance(0.2)) m.queryParams = { beta: { exact: '1' } };
    if (chance(0.25)) m.sourceLabels = { app: pick(['productpage', 'legacy', 'ratings']) };
    return m;
  };
  const destinations = () => {
    const n = 1 + Math.floor(r() * 3);
    const chosen = [...subsets].sort(() => r() - 0.5).slice(0, n);
    if (chosen.length === 1) return [{ destination: { host: 'reviews', subset: chosen[0] } }];
    // Integer weights summing to 100, a 0 among them now and then.
    const weights: number[] = chosen.map(() => (chance(0.2) ? 0 : 1 + Math.floor(r() * 9)));
    if (!weights.some((w) => w > 0)) weights[0] = 1;
    const total = weights.reduce((a, b) => a + b, 0);
    const pct = weights.map((w) => Math.floor((w * 100) / total));
    pct[pct.findIndex((w) => w > 0)]! += 100 - pct.reduce((a, b) => a + b, 0);
    return chosen.map((s, i) => ({ destination: { host: 'reviews', subset: s }, weight: pct[i] }));
  };
  const httpRule = () => {
    const rule: Record<string, unknown> = {};
    if (chance(0.7)) rule.match = Array.from({ length: chance(0.3) ? 2 : 1 }, matchBlock);
    rule.route = destinations();
    if (chance(0.3)) {
      const fault: Record<string, unknown> = {};
      if (chance(0.6))
        fault.delay = {
          fixedDelay: pick(['1s', '7s']),
          ...(chance(0.5) ? { percentage: { value: pick([10, 50, 100]) } } : {}),
        };
      if (!fault.delay || chance(0.4))
        fault.abort = {
          httpStatus: pick([500, 503]),
          ...(chance(0.5) ? { percentage: { value: pick([5, 100]) } } : {}),
        };
      rule.fault = fault;
    }
    if (chance(0.3)) rule.timeout = pick(['500ms', '3s']);
    if (chance(0.3)) {
      const attempts = Math.floor(r() * 4);
      rule.retries = { attempts, ...(attempts > 0 && chance(0.5) ? { perTryTimeout: '1s' } : {}) };
    }
    if (chance(0.2)) {
      rule.mirror = { host: 'reviews', subset: subsets[subsets.length - 1] };
      if (chance(0.5)) rule.mirrorPercentage = { value: pick([10, 50]) };
    }
    return rule;
  };
  if (chance(0.85))
    objects.push(
      istio('networking', 'VirtualService', 'reviews', {
        hosts: ['reviews'],
        http: Array.from({ length: 1 + Math.floor(r() * 3) }, httpRule),
      }),
    );

  // An ingress Gateway, with or without the redirect to HTTPS.
  const gateway = chance(0.3);
  if (gateway) {
    const redirect = chance(0.5);
    objects.push(
      istio('networking', 'Gateway', 'shop', {
        selector: { istio: 'ingressgateway' },
        servers: [
          {
            port: { number: 80, name: 'http', protocol: 'HTTP' },
            hosts: ['shop.example.com'],
            ...(redirect ? { tls: { httpsRedirect: true } } : {}),
          },
        ],
      }),
      istio('networking', 'VirtualService', 'shop', {
        hosts: ['shop.example.com'],
        gateways: ['shop'],
        http: [httpRule()],
      }),
    );
  }

  // PeerAuthentication at one or more levels.
  const mode = () => pick(['STRICT', 'PERMISSIVE', 'DISABLE']);
  if (chance(0.3))
    objects.push(
      istio('security', 'PeerAuthentication', 'default', { mtls: { mode: mode() } }, 'istio-system'),
    );
  if (chance(0.3))
    objects.push(istio('security', 'PeerAuthentication', 'default', { mtls: { mode: mode() } }));
  if (chance(0.3))
    objects.push(
      istio('security', 'PeerAuthentication', 'reviews', {
        selector: { matchLabels: { app: 'reviews' } },
        mtls: { mode: mode() },
        ...(chance(0.5) ? { portLevelMtls: { 9080: { mode: mode() } } } : {}),
      }),
    );

  // AuthorizationPolicies on reviews.
  if (chance(0.2)) objects.push(istio('security', 'AuthorizationPolicy', 'allow-nothing', {}));
  if (chance(0.3))
    objects.push(
      istio('security', 'AuthorizationPolicy', 'reviews-viewer', {
        selector: { matchLabels: { app: 'reviews' } },
        action: 'ALLOW',
        rules: [
          {
            from: [{ source: { principals: ['cluster.local/ns/default/sa/productpage'] } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ],
      }),
    );
  if (chance(0.2))
    objects.push(
      istio('security', 'AuthorizationPolicy', 'no-post', {
        selector: { matchLabels: { app: 'reviews' } },
        action: 'DENY',
        rules: [{ to: [{ operation: { methods: ['POST'] } }] }],
      }),
    );

  // The requests: from the caller with a sidecar, the one without, and the ingress gateway.
  const requests: ExplainRequest[] = [];
  const request = (from: string, host: string, port?: number): ExplainRequest => ({
    from,
    host,
    ...(port !== undefined ? { port } : {}),
    method: pick(['GET', 'GET', 'POST']),
    path: pick(['/', '/api/v1', '/r/12', '/?beta=1']),
    headers: pick<Record<string, string>>([{}, { 'end-user': 'jason' }, { 'end-user': 'kim' }]),
  });
  for (let i = 0; i < 3; i++) requests.push(request('productpage', 'reviews'));
  if (legacy) requests.push(request('legacy', 'reviews'));
  if (gateway) requests.push(request('ingress', 'shop.example.com', 80));
  return { seed, objects, requests };
}
