/**
 * Every rule of the validator: a fixture that triggers it (with the message asserted) and a
 * near-miss that does not. The fixtures are plain objects, as YAML or a cluster would give them.
 */
import {
  buildModel,
  type DeclaredCall,
  type KubeObject,
  type UndeployedSubset,
} from '../../../mesh/model/index.js';
import { RULES, ruleTable, validate } from '../../../mesh/validator/index.js';
import {
  ap,
  baseMesh,
  deployment,
  dr,
  ef,
  gw,
  ingressGateway,
  pa,
  principal,
  sc,
  se,
  service,
  tm,
  vs,
} from './fixtures.js';

interface Case {
  readonly code: string;
  /** Objects added to the base mesh that trigger the rule. */
  readonly bad: KubeObject[];
  /** A substring of the finding's message. */
  readonly message: string;
  /** A near-miss that must not trigger it. */
  readonly good: KubeObject[];
  /** Objects of the base mesh to drop (by `Kind/name`). */
  readonly drop?: string[];
  readonly calls?: DeclaredCall[];
  /** Subsets the authoring layer declares without deployment. */
  readonly undeployed?: UndeployedSubset[];
}

const route = (host: string, subset?: string, weight?: number) => ({
  destination: { host, ...(subset ? { subset } : {}) },
  ...(weight !== undefined ? { weight } : {}),
});
const jason = { headers: { 'end-user': { exact: 'jason' } } };
const call = (from: string, to: string, methods?: string[]): DeclaredCall => ({
  from: { name: from, namespace: 'default', principal: principal(`bookinfo-${from}`) },
  to: { name: to, namespace: 'default' },
  ...(methods ? { methods } : {}),
});
const strictNs = pa('default', { mtls: { mode: 'STRICT' } });
const ambientNs: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } },
};
const waypointNs: KubeObject = {
  ...ambientNs,
  metadata: {
    name: 'default',
    labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' },
  },
};
const waypointGw: KubeObject = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'waypoint', namespace: 'default' },
  spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
};
const shopRatings: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'ratings', namespace: 'shop' },
  spec: { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] },
};
const httpRoute = (name: string, parent: string, backendRefs: object[]): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'default' },
  spec: { parentRefs: [{ group: '', kind: 'Service', name: parent, port: 9080 }], rules: [{ backendRefs }] },
});
const gatewayApiMatch = (path: object, backendRef: object): KubeObject => ({
  ...httpRoute('reviews', 'reviews', []),
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
    rules: [{ matches: [{ path }], backendRefs: [backendRef] }],
  },
});
const gatewayApiCrd = (version: string): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: 'httproutes.gateway.networking.k8s.io',
    annotations: { 'gateway.networking.k8s.io/bundle-version': version },
  },
  spec: { group: 'gateway.networking.k8s.io', names: { kind: 'HTTPRoute', plural: 'httproutes' } },
});
const bookinfoGw = (name: string, hosts: string[], port = 80) =>
  gw(name, {
    selector: { istio: 'ingressgateway' },
    servers: [{ port: { number: port, name: 'http', protocol: 'HTTP' }, hosts }],
  });

/** A ratings VirtualService that delays every request by `fixedDelay`. */
const tlsGw = (name: string, host: string, credentialName: string) =>
  gw(name, {
    selector: { istio: 'ingressgateway' },
    servers: [
      {
        port: { number: 443, name: 'https', protocol: 'HTTPS' },
        hosts: [host],
        tls: { mode: 'SIMPLE', credentialName },
      },
    ],
  });
const reviewsService = (name: string, port: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: 'reviews' }, ports: [port] },
});
const patch = (applyTo: string, operation: string, extra: Record<string, unknown> = {}) => ({
  applyTo,
  patch: { operation, value: { name: 'envoy.filters.http.lua' } },
  ...extra,
});
const delayed = (fixedDelay: string) =>
  vs('r', {
    hosts: ['ratings'],
    http: [{ fault: { delay: { fixedDelay, percentage: { value: 100 } } }, route: [route('ratings', 'v1')] }],
  });

const CASES: Case[] = [
  {
    code: 'MESH101',
    bad: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviewz')] }] })],
    message:
      'destination host reviewz (reviewz.default.svc.cluster.local) is neither a Service nor a ServiceEntry',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews.default.svc.cluster.local')] }] })],
  },
  {
    code: 'MESH101',
    bad: [vs('ext', { hosts: ['api.example.com'], http: [{ route: [route('api.example.com')] }] })],
    message: 'api.example.com',
    good: [
      vs('ext', { hosts: ['api.example.com'], http: [{ route: [route('api.example.com')] }] }),
      se('ext', {
        hosts: ['api.example.com'],
        ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
        resolution: 'DNS',
      }),
    ],
  },
  {
    code: 'MESH102',
    bad: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v3')] }] })],
    message: 'subset v3 of reviews is not defined in DestinationRule default/reviews (subsets: v1, v2)',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v2')] }] })],
  },
  {
    code: 'MESH103',
    bad: [vs('r', { hosts: ['*'], gateways: ['nope'], http: [{ route: [route('productpage')] }] })],
    message: 'gateway nope not found',
    good: [
      bookinfoGw('nope', ['*']),
      vs('r', { hosts: ['*'], gateways: ['nope'], http: [{ route: [route('productpage')] }] }),
    ],
  },
  {
    code: 'MESH104',
    bad: [
      bookinfoGw('g', ['bookinfo.example.com']),
      vs('r', { hosts: ['other.example.com'], gateways: ['g'], http: [{ route: [route('productpage')] }] }),
    ],
    message: 'host other.example.com not found in Gateway default/g',
    good: [
      bookinfoGw('g', ['*.example.com']),
      vs('r', { hosts: ['other.example.com'], gateways: ['g'], http: [{ route: [route('productpage')] }] }),
    ],
  },
  {
    code: 'MESH105',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1')] }, { route: [route('reviews', 'v2')] }],
      }),
    ],
    message: 'rule #1 is never used: rule #0 before it matches every request',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ match: [jason], route: [route('reviews', 'v2')] }, { route: [route('reviews', 'v1')] }],
      }),
    ],
  },
  {
    code: 'MESH106',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [
          { match: [jason], route: [route('reviews', 'v2')] },
          { match: [jason], route: [route('reviews', 'v1')] },
          { route: [route('reviews', 'v1')] },
        ],
      }),
    ],
    message: 'rule #1 match #0 is never used: identical to rule #0 match #0',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [
          { match: [jason], route: [route('reviews', 'v2')] },
          { match: [{ headers: { 'end-user': { exact: 'mike' } } }], route: [route('reviews', 'v1')] },
        ],
      }),
    ],
  },
  {
    code: 'MESH107',
    bad: [
      vs('a', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] }),
      vs('b', { hosts: ['reviews.default.svc.cluster.local'], http: [{ route: [route('reviews', 'v2')] }] }),
    ],
    message: 'host reviews.default.svc.cluster.local is also routed by VirtualService default/a',
    good: [
      vs('a', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] }),
      vs('b', { hosts: ['ratings'], http: [{ route: [route('ratings', 'v1')] }] }),
    ],
  },
  {
    code: 'MESH108',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 50), route('reviews', 'v2', 40)] }],
      }),
    ],
    message: 'weights sum to 90 (v1=50, v2=40); they must sum to 100',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 60), route('reviews', 'v2', 40)] }],
      }),
    ],
  },
  {
    code: 'MESH109',
    bad: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1', 50)] }] })],
    message: 'the only destination has weight 50',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1', 100)] }] })],
  },
  {
    code: 'MESH110',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 50), route('reviews', 'v1', 50)] }],
      }),
    ],
    message: 'destination reviews subset v1 appears twice',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 50), route('reviews', 'v2', 50)] }],
      }),
    ],
  },
  {
    code: 'MESH111',
    bad: [
      vs('r', {
        hosts: ['ratings'],
        http: [
          {
            fault: { abort: { httpStatus: 700, percentage: { value: 150 } } },
            route: [route('ratings', 'v1')],
          },
        ],
      }),
    ],
    message: 'http[0].fault.abort.percentage is 150; it must be in [0, 100]',
    good: [
      vs('r', {
        hosts: ['ratings'],
        http: [
          {
            fault: { abort: { httpStatus: 500, percentage: { value: 100 } } },
            route: [route('ratings', 'v1')],
          },
        ],
      }),
    ],
  },
  // A duration below the CRD's 1ms (a unit Go does not know, or a sign, the schema refuses: MESH001).
  {
    code: 'MESH111',
    bad: [delayed('10ns')],
    message: 'http[0].fault.delay.fixedDelay is 10ns; expected a duration of at least 1ms like 7s',
    good: [delayed('1m30s')],
  },
  ...(['1d', '-1s'] as const).map((fixedDelay) => ({
    code: 'MESH001',
    bad: [delayed(fixedDelay)],
    message: `spec.http[0].fault.delay.fixedDelay: must be a valid duration greater than 1ms (got "${fixedDelay}")`,
    good: [delayed('1m30s')],
  })),
  // Istio's CRD schema: wrong types, missing required fields, values outside an enum, null list items.
  {
    code: 'MESH001',
    bad: [vs('r', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 5 } }] }] })],
    message: 'spec.http[0].route[0].destination.host: must be string (got 5)',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews')] }] })],
  },
  {
    code: 'MESH001',
    bad: [vs('r', { hosts: ['reviews'], http: [{ route: [{ destination: { subset: 'v1' } }] }] })],
    message: 'spec.http[0].route[0].destination: missing required field "host"',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] })],
  },
  {
    code: 'MESH001',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 50.5), route('reviews', 'v2', 49.5)] }],
      }),
    ],
    message: 'spec.http[0].route[0].weight: must be integer (got 50.5)',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 50), route('reviews', 'v2', 50)] }],
      }),
    ],
  },
  {
    code: 'MESH001',
    bad: [ap('a', { action: 'PERMIT', rules: [{}] })],
    message: 'spec.action: must be one of ALLOW, DENY, AUDIT, CUSTOM (got "PERMIT")',
    good: [ap('a', { action: 'AUDIT', rules: [{}] })],
  },
  {
    code: 'MESH001',
    bad: [ap('a', { rules: [{ from: [null] }] })],
    message: 'spec.rules[0].from[0]: must be object (got null)',
    good: [ap('a', { rules: [{ from: [{ source: { namespaces: ['default'] } }] }] })],
  },
  {
    code: 'MESH001',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews')], timeout: '3s', retry: { attempts: 2 } }],
      }),
    ],
    message: 'spec.http[0]: unknown field "retry"',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews')], timeout: '3s', retries: { attempts: 2 } }],
      }),
    ],
  },
  {
    code: 'MESH001',
    bad: [{ ...ef('e', {}), apiVersion: 'networking.istio.io/v1' }],
    message:
      'apiVersion: networking.istio.io/v1 does not serve EnvoyFilter: use networking.istio.io/v1alpha3',
    good: [ef('e', {})],
  },
  {
    code: 'MESH001',
    bad: [
      vs(
        'r',
        { hosts: ['reviews'], http: [{ route: [route('reviews')] }] },
        {
          labels: JSON.parse('{"__proto__": "x"}') as Record<string, string>,
        } /* an own key, as YAML and JSON give it */,
      ),
    ],
    message: 'metadata.labels["__proto__"]: not a valid key',
    good: [
      vs(
        'r',
        { hosts: ['reviews'], http: [{ route: [route('reviews')] }] },
        { labels: { constructor: 'x' } },
      ),
    ],
  },
  // Istio's own validation (pilot/pkg/config/validation), beyond the schema.
  {
    code: 'MESH001',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ match: [{ headers: { 'end-user': { regex: '(a)\\1' } } }], route: [route('reviews')] }],
      }),
    ],
    message:
      'spec.http[0].match[0].headers["end-user"].regex: error parsing regexp: invalid escape sequence: `\\1`; Istio uses RE2',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ match: [{ headers: { 'end-user': { regex: '(?i)JASON' } } }], route: [route('reviews')] }],
      }),
    ],
  },
  {
    code: 'MESH001',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews')], retries: { attempts: 0, perTryTimeout: '2s' } }],
      }),
    ],
    message: 'spec.http[0].retries: attempts is 0, which disables retries, but perTryTimeout is set',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews')], retries: { attempts: 0 } }] })],
  },
  {
    code: 'MESH001',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', -10), route('reviews', 'v2', 110)] }],
      }),
    ],
    message: 'spec.http[0].route[0].weight: -10 < 0',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [{ route: [route('reviews', 'v1', 0), route('reviews', 'v2', 100)] }],
      }),
    ],
  },
  {
    code: 'MESH001',
    bad: [ap('a', { rules: [{ from: [{ source: {} }] }] })],
    message: 'spec.rules[0].from[0].source: must not be empty',
    good: [ap('a', { rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }] })],
  },
  {
    code: 'MESH112',
    bad: [
      vs('ratings', {
        hosts: ['ratings'],
        http: [
          {
            fault: { delay: { fixedDelay: '7s', percentage: { value: 100 } } },
            route: [route('ratings', 'v1')],
          },
        ],
      }),
      vs('reviews', { hosts: ['reviews'], http: [{ timeout: '3s', route: [route('reviews', 'v1')] }] }),
    ],
    message:
      'http[0] delays calls from reviews by 7s, but calls to reviews time out after 3s (VirtualService default/reviews http[0])',
    good: [
      vs('ratings', {
        hosts: ['ratings'],
        http: [
          {
            fault: { delay: { fixedDelay: '2s', percentage: { value: 100 } } },
            route: [route('ratings', 'v1')],
          },
        ],
      }),
      vs('reviews', { hosts: ['reviews'], http: [{ timeout: '3s', route: [route('reviews', 'v1')] }] }),
    ],
    calls: [call('productpage', 'reviews'), call('reviews', 'ratings')],
  },
  {
    code: 'MESH113',
    bad: [
      vs('r', {
        hosts: ['reviews'],
        http: [
          { timeout: '2s', retries: { attempts: 3, perTryTimeout: '2s' }, route: [route('reviews', 'v1')] },
        ],
      }),
    ],
    message: 'perTryTimeout 2s ≥ timeout 2s: no retry can happen',
    good: [
      vs('r', {
        hosts: ['reviews'],
        http: [
          { timeout: '3s', retries: { attempts: 2, perTryTimeout: '1s' }, route: [route('reviews', 'v1')] },
        ],
      }),
    ],
  },
  {
    code: 'MESH201',
    bad: [bookinfoGw('a', ['bookinfo.example.com']), bookinfoGw('b', ['*.example.com'])],
    message:
      'servers[0] (port 80, hosts *.example.com) conflicts with Gateway default/a (selector {"istio":"ingressgateway"}): the same workload serves both',
    good: [bookinfoGw('a', ['bookinfo.example.com']), bookinfoGw('b', ['*.example.org'])],
  },
  {
    // Selectors that differ but share a workload (one includes the other): istioctl's sub-selector case.
    code: 'MESH201',
    bad: [
      deployment('edge', 'v1'),
      gw('a', {
        selector: { app: 'edge' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
      }),
      gw('b', {
        selector: { app: 'edge', version: 'v1' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
      }),
    ],
    message: 'conflicts with Gateway default/b (selector {"app":"edge","version":"v1"})',
    good: [
      deployment('edge', 'v1'),
      gw('a', {
        selector: { app: 'edge' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
      }),
      gw('b', {
        selector: { app: 'edge', version: 'v2' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
      }),
    ],
  },
  {
    code: 'MESH203',
    bad: [...ingressGateway(), bookinfoGw('g', ['bookinfo.example.com'], 9000)],
    message:
      'servers[0] port 9000 is not exposed by the Service(s) istio-system/istio-ingressgateway of the gateway workload (selector istio=ingressgateway)',
    // Port 80 is a Service port whose targetPort (8080) Envoy listens on: istioctl accepts either.
    good: [
      ...ingressGateway(),
      bookinfoGw('g', ['bookinfo.example.com'], 80),
      bookinfoGw('h', ['h.example.com'], 8443),
    ],
  },
  {
    code: 'MESH204',
    bad: [
      ...ingressGateway(),
      gw('g', {
        selector: { istio: 'egressgateway' },
        servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
      }),
    ],
    message: 'selector istio=egressgateway matches no workload in any namespace',
    good: [...ingressGateway(), bookinfoGw('g', ['bookinfo.example.com'])],
  },
  {
    code: 'MESH205',
    bad: [tlsGw('a', 'a.example.com', 'shared-cert'), tlsGw('b', 'b.example.com', 'shared-cert')],
    message: 'uses the same certificate as Gateway default/b on the same gateway workload',
    good: [tlsGw('a', 'a.example.com', 'a-cert'), tlsGw('b', 'b.example.com', 'b-cert')],
  },
  {
    code: 'MESH202',
    bad: [
      gw('g', {
        selector: { istio: 'ingressgateway' },
        servers: [
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: ['a.example.com'],
            tls: { mode: 'SIMPLE' },
          },
        ],
      }),
    ],
    message: 'servers[0] (tls SIMPLE) has no credentialName',
    good: [
      gw('g', {
        selector: { istio: 'ingressgateway' },
        servers: [
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: ['a.example.com'],
            tls: { mode: 'SIMPLE', credentialName: 'a-cert' },
          },
        ],
      }),
    ],
  },
  {
    code: 'MESH301',
    bad: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    message: 'subset v2 ({"version":"v2"}) selects no workload of Service default/ratings',
    good: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
      deployment('ratings', 'v2'),
    ],
  },
  {
    // Declared without deployment on purpose, but a route sends to it: still a warning.
    code: 'MESH301',
    bad: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
      vs('ratings', { hosts: ['ratings'], http: [{ route: [route('ratings', 'v2')] }] }),
    ],
    drop: ['DestinationRule/ratings'],
    undeployed: [{ namespace: 'default', service: 'ratings', subset: 'v2' }],
    message:
      'subset v2 ({"version":"v2"}) selects no workload of Service default/ratings; routed to by VirtualService default/ratings http[0].route[0]',
    good: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
      vs('ratings', { hosts: ['ratings'], http: [{ route: [route('ratings', 'v1')] }] }),
    ],
  },
  {
    code: 'MESH306',
    bad: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    undeployed: [{ namespace: 'default', service: 'ratings', subset: 'v2' }],
    message: 'subset v2 of Service default/ratings has no workload: the App declares it with deploy: false',
    good: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      }),
      vs('ratings', { hosts: ['ratings'], http: [{ route: [route('ratings', 'v2')] }] }),
    ],
  },
  {
    code: 'MESH302',
    bad: [
      dr('reviews-2', {
        host: 'reviews.default.svc.cluster.local',
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
    message:
      'host reviews.default.svc.cluster.local subset v1 is also configured by DestinationRule default/reviews',
    good: [
      dr(
        'reviews-2',
        { host: 'reviews.other.svc.cluster.local', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
        { namespace: 'other' },
      ),
      { ...service('reviews'), metadata: { name: 'reviews', namespace: 'other' } },
    ],
  },
  {
    code: 'MESH303',
    bad: [dr('x', { host: 'reviewz' })],
    message: 'host reviewz (reviewz.default.svc.cluster.local) is neither a Service nor a ServiceEntry',
    good: [dr('x', { host: '*.default.svc.cluster.local' })],
  },
  {
    code: 'MESH304',
    bad: [
      dr('ratings', {
        host: 'ratings',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v1', labels: { version: 'v1' } },
        ],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    message: 'subset v1 is declared more than once',
    good: [],
  },
  {
    code: 'MESH305',
    bad: [dr('ratings', { host: 'ratings', subsets: [{ name: 'all' }] })],
    drop: ['DestinationRule/ratings'],
    message: 'subset all has no labels',
    good: [dr('ratings', { host: 'ratings', subsets: [{ name: 'all', labels: { app: 'ratings' } }] })],
  },
  {
    code: 'MESH401',
    bad: [
      strictNs,
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'DISABLE' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    message:
      'trafficPolicy.tls sends plain text to ratings-v1, whose PeerAuthentication default/default is STRICT: requests fail',
    good: [
      pa('default', { mtls: { mode: 'PERMISSIVE' } }),
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'DISABLE' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
  },
  {
    code: 'MESH402',
    bad: [
      pa('default', { mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }),
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'DISABLE' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    message: 'but mesh-wide PeerAuthentication istio-system/default is STRICT',
    good: [
      pa('default', { mtls: { mode: 'STRICT' } }, { namespace: 'istio-system' }),
      pa('ratings', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'PERMISSIVE' } }),
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'DISABLE' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
  },
  {
    code: 'MESH403',
    bad: [
      pa('ratings', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'DISABLE' } }),
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
    drop: ['DestinationRule/ratings'],
    message: 'sends Istio mTLS to ratings-v1, which has mTLS DISABLE (default/ratings)',
    good: [
      pa('ratings', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'PERMISSIVE' } }),
      dr('ratings', {
        host: 'ratings',
        trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }],
      }),
    ],
  },
  {
    code: 'MESH404',
    bad: [strictNs],
    message: 'namespace default is STRICT and no DestinationRule enables mTLS for it',
    good: [
      strictNs,
      dr('all', { host: '*.default.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }),
    ],
  },
  {
    code: 'MESH405',
    bad: [pa('default', { mtls: { mode: 'DISABLE' } })],
    message: 'namespace default disables mTLS and no DestinationRule disables it for clients',
    good: [
      pa('default', { mtls: { mode: 'DISABLE' } }),
      dr('all', { host: '*.default.svc.cluster.local', trafficPolicy: { tls: { mode: 'DISABLE' } } }),
    ],
  },
  {
    code: 'MESH406',
    bad: [pa('default', { mtls: { mode: 'STRICT' }, portLevelMtls: { 9080: { mode: 'DISABLE' } } })],
    message: 'portLevelMtls (9080) is set on a namespace or mesh-wide policy',
    good: [
      pa('default', {
        selector: { matchLabels: { app: 'ratings' } },
        portLevelMtls: { 9080: { mode: 'DISABLE' } },
      }),
    ],
  },
  {
    code: 'MESH407',
    bad: [
      pa('p', { selector: { matchLabels: { app: 'ratings' } }, portLevelMtls: { 80: { mode: 'DISABLE' } } }),
    ],
    message: 'port 80 is not a container port of ratings-v1 (container ports: 9080)',
    good: [
      pa('p', {
        selector: { matchLabels: { app: 'ratings' } },
        portLevelMtls: { 9080: { mode: 'DISABLE' } },
      }),
    ],
  },
  {
    code: 'MESH408',
    bad: [pa('p', { selector: { matchLabels: { app: 'ratingz' } }, mtls: { mode: 'STRICT' } })],
    message: 'no workload in default has the labels {"app":"ratingz"}',
    good: [pa('p', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'STRICT' } })],
  },
  {
    code: 'MESH501',
    bad: [ap('p', { selector: { matchLabels: { app: 'ratingz' } } })],
    message: 'no workload in default has the labels {"app":"ratingz"}',
    good: [ap('p', { selector: { matchLabels: { app: 'ratings' } }, rules: [{}] })],
  },
  {
    code: 'MESH502',
    bad: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviewz')] } }] }],
      }),
    ],
    message:
      'principal cluster.local/ns/default/sa/bookinfo-reviewz: ServiceAccount default/bookinfo-reviewz not found',
    good: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [
          {
            from: [
              { source: { principals: [principal('istio-ingressgateway-service-account', 'istio-system')] } },
            ],
          },
        ],
      }),
    ],
  },
  {
    code: 'MESH503',
    bad: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { namespaces: ['defualt'] } }] }],
      }),
    ],
    message: 'namespace defualt not found',
    good: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { namespaces: ['default'] } }] }],
      }),
    ],
  },
  {
    code: 'MESH504',
    bad: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ to: [{ operation: { methods: ['get'] } }] }],
      }),
    ],
    message: 'method get is not an HTTP method',
    good: [
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ to: [{ operation: { methods: ['GET', 'grpc.health.v1.Health/Check'] } }] }],
      }),
    ],
  },
  {
    code: 'MESH505',
    bad: [
      pa('default', { mtls: { mode: 'DISABLE' } }),
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
    message: 'uses principals or namespaces, but ratings-v1 has mTLS DISABLE (default/default)',
    good: [
      pa('default', { mtls: { mode: 'PERMISSIVE' } }),
      ap('p', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
  },
  {
    code: 'MESH510',
    drop: ['Deployment/reviews-v1', 'Deployment/reviews-v2'],
    bad: [
      deployment('reviews', 'v1', { inject: false }),
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
    message:
      'rules[0] names cluster.local/ns/default/sa/bookinfo-reviews, but every workload running as default/bookinfo-reviews (reviews-v1) has no sidecar: its requests carry no principal, so this source never matches them',
    good: [
      deployment('reviews', 'v1'),
      deployment('reviews', 'v2', { inject: false }),
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
  },
  {
    code: 'MESH506',
    bad: [
      strictNs,
      ap('allow-nothing', {}),
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }],
      }),
    ],
    message:
      'reviews → ratings:9080 (GET /) is declared but denied on ratings-v1 port 9080: no rule of the ALLOW policies (default/allow-nothing, default/ratings-viewer) matches',
    good: [
      strictNs,
      ap('allow-nothing', {}),
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
    calls: [call('reviews', 'ratings', ['GET'])],
  },
  {
    code: 'MESH507',
    bad: [
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [
          {
            from: [
              { source: { principals: [principal('bookinfo-reviews'), principal('bookinfo-productpage')] } },
            ],
          },
        ],
      }),
    ],
    message:
      'rules[0] allows cluster.local/ns/default/sa/bookinfo-productpage, but no declared call from it reaches default/ratings',
    good: [
      ap('ratings-viewer', {
        selector: { matchLabels: { app: 'ratings' } },
        rules: [{ from: [{ source: { principals: [principal('bookinfo-reviews')] } }] }],
      }),
    ],
    calls: [call('reviews', 'ratings')],
  },
  {
    code: 'MESH601',
    bad: [service('web', 8080, 'web')],
    message:
      "port name web (port: 8080, targetPort: 8080) doesn't follow the naming convention of Istio port",
    good: [service('web', 8080, 'http-web'), deployment('web', 'v1', { port: 8080 })],
  },
  {
    code: 'MESH602',
    bad: [service('web', 8080, 'http')],
    message: 'selector {"app":"web"} matches no workload in default',
    good: [service('web', 8080, 'http'), deployment('web', 'v1', { port: 8080 })],
  },
  {
    code: 'MESH603',
    bad: [
      deployment('legacy', 'v1', { inject: false }),
      ap('p', { selector: { matchLabels: { app: 'legacy' } }, rules: [{}] }),
    ],
    message: 'selects legacy-v1, which run without the Envoy sidecar',
    good: [
      deployment('legacy', 'v1'),
      ap('p', { selector: { matchLabels: { app: 'legacy' } }, rules: [{}] }),
    ],
  },
  {
    code: 'MESH701',
    bad: [
      ef('rl', {
        workloadSelector: { labels: { app: 'ratings' } },
        configPatches: [{ applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE' } }],
      }),
    ],
    message: 'configPatches[0] is relative (INSERT_BEFORE) and the EnvoyFilter has no priority',
    good: [
      ef('rl', {
        workloadSelector: { labels: { app: 'ratings' } },
        priority: 10,
        configPatches: [{ applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE' } }],
      }),
    ],
  },
  {
    code: 'MESH703',
    bad: [ef('rp', { priority: 1, configPatches: [patch('CLUSTER', 'REPLACE')] })],
    message: 'configPatches[0] REPLACE applies to CLUSTER, where Istio ignores it',
    good: [ef('rp', { priority: 1, configPatches: [patch('HTTP_FILTER', 'REPLACE')] })],
  },
  {
    code: 'MESH704',
    bad: [ef('ad', { configPatches: [patch('HTTP_ROUTE', 'ADD')] })],
    message: 'configPatches[0] ADD applies to HTTP_ROUTE, where Istio ignores it',
    good: [ef('ad', { configPatches: [patch('VIRTUAL_HOST', 'ADD')] })],
  },
  {
    code: 'MESH705',
    bad: [ef('rm', { configPatches: [patch('ROUTE_CONFIGURATION', 'REMOVE')] })],
    message: 'configPatches[0] REMOVE applies to ROUTE_CONFIGURATION, where Istio ignores it',
    good: [ef('rm', { priority: 1, configPatches: [patch('HTTP_FILTER', 'REMOVE')] })],
  },
  {
    // A patch pinned to a proxy version names the lua filter; a later relative patch of it has no priority.
    code: 'MESH706',
    bad: [
      ef('pinned', {
        priority: 1,
        configPatches: [
          patch('HTTP_FILTER', 'INSERT_BEFORE', { match: { proxy: { proxyVersion: '^1\\.30.*' } } }),
        ],
      }),
      ef('later', { configPatches: [patch('HTTP_FILTER', 'INSERT_BEFORE')] }),
    ],
    message:
      'configPatches[0] is relative (INSERT_BEFORE) on envoy.filters.http.lua that a patch with a proxyVersion also names',
    good: [
      ef('pinned', {
        priority: 1,
        configPatches: [
          patch('HTTP_FILTER', 'INSERT_BEFORE', { match: { proxy: { proxyVersion: '^1\\.30.*' } } }),
        ],
      }),
      ef('later', { priority: 2, configPatches: [patch('HTTP_FILTER', 'INSERT_BEFORE')] }),
    ],
  },
  {
    code: 'MESH702',
    bad: [ef('rl', { workloadSelector: { labels: { app: 'ratingz' } }, priority: 1, configPatches: [] })],
    message: 'no workload in default has the labels {"app":"ratingz"}',
    good: [ef('rl', { workloadSelector: { labels: { app: 'ratings' } }, priority: 1, configPatches: [] })],
  },
  {
    code: 'MESH307',
    bad: [dr('ext', { host: 'api.example.com', trafficPolicy: { tls: { mode: 'SIMPLE' } } })],
    message: 'trafficPolicy.tls mode SIMPLE to api.example.com has no caCertificates',
    good: [
      dr('ext', {
        host: 'api.example.com',
        trafficPolicy: { tls: { mode: 'SIMPLE', caCertificates: '/etc/certs/ca.pem' } },
      }),
    ],
  },
  {
    code: 'MESH308',
    bad: [
      dr('ext', {
        host: 'api.example.com',
        trafficPolicy: { portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'MUTUAL' } }] },
      }),
    ],
    message: 'trafficPolicy.portLevelSettings[0] (port 443) tls mode MUTUAL has no caCertificates',
    good: [
      dr('ext', {
        host: 'api.example.com',
        workloadSelector: { matchLabels: { app: 'productpage' } },
        trafficPolicy: {
          portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'MUTUAL', credentialName: 'client' } }],
        },
      }),
    ],
  },
  {
    code: 'MESH508',
    bad: [ap('allow-nothing', {}, { namespace: 'shop' })],
    message: 'applies to the whole namespace shop, which has no workload with a sidecar',
    good: [ap('allow-nothing', {})],
  },
  {
    code: 'MESH604',
    bad: [reviewsService('reviews-udp', { name: 'udp', port: 9080, protocol: 'UDP' })],
    message: 'port 9080 is TCP in default/reviews and UDP in default/reviews-udp',
    good: [reviewsService('reviews-udp', { name: 'udp', port: 9081, protocol: 'UDP' })],
  },
  {
    code: 'MESH605',
    bad: [reviewsService('reviews-alt', { name: 'http', port: 80, targetPort: 9080 })],
    message: 'targetPort 9080 is reached through ports 80, 9080 of default/reviews, default/reviews-alt',
    good: [reviewsService('reviews-alt', { name: 'http', port: 9080, targetPort: 9080 })],
  },
  {
    code: 'MESH606',
    bad: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: 'default' },
        spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tcp', port: 5432 }] },
      },
    ],
    message: 'ports[0] (tcp, port 5432) of an ExternalName Service does not name its protocol',
    good: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db', namespace: 'default' },
        spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'tls', port: 5432 }] },
      },
    ],
  },
  {
    code: 'MESH901',
    bad: [
      vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] }),
      vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v2')] }] }),
    ],
    message: 'VirtualService default/r is defined 2 times: mesh.yaml:VirtualService/r:',
    good: [vs('r', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] })],
  },
  {
    code: 'MESH911',
    bad: [sc('s', { workloadSelector: { labels: { app: 'ratingz' } }, egress: [{ hosts: ['./*'] }] })],
    message: 'workloadSelector app=ratingz matches no workload in default',
    good: [sc('s', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] })],
  },
  {
    code: 'MESH912',
    bad: [
      sc('a', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] }),
      sc('b', { workloadSelector: { labels: { version: 'v1' } }, egress: [{ hosts: ['./*'] }] }),
    ],
    message: 'selects ratings-v1, which another Sidecar also selects',
    good: [
      sc('a', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] }),
      sc('b', { workloadSelector: { labels: { version: 'v2' } }, egress: [{ hosts: ['./*'] }] }),
    ],
  },
  {
    code: 'MESH913',
    bad: [sc('a', { egress: [{ hosts: ['./*'] }] }), sc('b', { egress: [{ hosts: ['istio-system/*'] }] })],
    message: 'is one of 2 Sidecars without workloadSelector in default (default/a, default/b)',
    good: [sc('a', { egress: [{ hosts: ['./*', 'istio-system/*'] }] })],
  },
  {
    code: 'MESH921',
    bad: [se('db', { hosts: ['db.example.com'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }] })],
    message: 'ports[0] (5432) is TCP and the ServiceEntry has no addresses',
    good: [
      se('db', {
        hosts: ['db.example.com'],
        addresses: ['10.1.2.3'],
        ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }],
      }),
    ],
  },
  {
    code: 'MESH931',
    bad: [
      tm('t', { selector: { matchLabels: { app: 'ratingz' } }, tracing: [{ randomSamplingPercentage: 10 }] }),
    ],
    message: 'selector app=ratingz matches no workload in default',
    good: [
      tm('t', { selector: { matchLabels: { app: 'ratings' } }, tracing: [{ randomSamplingPercentage: 10 }] }),
    ],
  },
  {
    code: 'MESH932',
    bad: [
      tm('a', { selector: { matchLabels: { app: 'ratings' } }, tracing: [{ randomSamplingPercentage: 10 }] }),
      tm('b', { selector: { matchLabels: { version: 'v1' } }, tracing: [{ randomSamplingPercentage: 1 }] }),
    ],
    message: 'selects ratings-v1, which another Telemetry also selects',
    good: [
      tm('a', { selector: { matchLabels: { app: 'ratings' } }, tracing: [{ randomSamplingPercentage: 10 }] }),
      tm('b', { selector: { matchLabels: { version: 'v2' } }, tracing: [{ randomSamplingPercentage: 1 }] }),
    ],
  },
  {
    code: 'MESH933',
    bad: [
      tm('a', { tracing: [{ randomSamplingPercentage: 10 }] }),
      tm('b', { tracing: [{ randomSamplingPercentage: 1 }] }),
    ],
    message: 'is one of 2 Telemetries without selector in default (default/a, default/b)',
    good: [tm('a', { tracing: [{ randomSamplingPercentage: 10 }] })],
  },
  {
    code: 'MESH934',
    bad: [tm('t', { accessLogging: [{ filter: { expression: 'response.code >= 400' } }] })],
    message: 'accessLogging[0] names no provider and the mesh config has no default one',
    good: [tm('t', { accessLogging: [{ providers: [{ name: 'envoy' }] }, { disabled: true }] })],
  },
  {
    code: 'MESH509',
    bad: [
      service('redis', 6379, 'redis'),
      deployment('redis', 'v1', { port: 6379 }),
      ap('redis-readers', {
        selector: { matchLabels: { app: 'redis' } },
        rules: [
          {
            from: [{ source: { principals: [principal('bookinfo-reviews')] } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ],
      }),
    ],
    message:
      'rules[0] uses to[0].operation.methods on redis-v1 (port 6379 of Service default/redis is REDIS, a TCP port): Istio drops this ALLOW rule on TCP, so it never allows a connection there',
    good: [
      service('redis', 6379, 'redis'),
      deployment('redis', 'v1', { port: 6379 }),
      ap('redis-readers', {
        selector: { matchLabels: { app: 'redis' } },
        rules: [
          {
            from: [{ source: { principals: [principal('bookinfo-reviews')] } }],
            to: [{ operation: { ports: ['6379'] } }],
          },
        ],
      }),
    ],
  },
  {
    code: 'MESH114',
    bad: [
      service('redis', 6379, 'redis'),
      deployment('redis', 'v1', { port: 6379 }),
      vs('redis', { hosts: ['redis'], http: [{ timeout: '1s', route: [route('redis')] }] }),
    ],
    message:
      'http[0].route[0]: redis is a REDIS (TCP) port: sidecars do not apply http rules to it (the default route does), so this route never takes effect',
    good: [
      service('redis', 6379, 'redis'),
      deployment('redis', 'v1', { port: 6379 }),
      vs('redis', { hosts: ['redis'], tcp: [{ route: [route('redis')] }] }),
    ],
  },
  {
    // Through a gateway: HTTP from the ingress gateway to a TCP port.
    code: 'MESH114',
    bad: [
      service('redis', 6379, 'tcp-redis'),
      deployment('redis', 'v1', { port: 6379 }),
      bookinfoGw('g', ['cache.example.com']),
      vs('cache', {
        hosts: ['cache.example.com'],
        gateways: ['g'],
        http: [{ route: [{ destination: { host: 'redis', port: { number: 6379 } } }] }],
      }),
    ],
    message:
      'http[0].route[0]: the gateway sends HTTP to redis:6379, a TCP (TCP) port: the request reaches a server that does not speak HTTP',
    good: [
      service('redis', 6379, 'http-redis-ui'),
      deployment('redis', 'v1', { port: 6379 }),
      bookinfoGw('g', ['cache.example.com']),
      vs('cache', {
        hosts: ['cache.example.com'],
        gateways: ['g'],
        http: [{ route: [{ destination: { host: 'redis', port: { number: 6379 } } }] }],
      }),
    ],
  },
  {
    code: 'MESH115',
    bad: [
      service('cart', 7070, 'grpc'),
      deployment('cart', 'v1', { port: 7070 }),
      vs('cart', {
        hosts: ['cart'],
        http: [{ match: [{ method: { exact: 'GET' } }], route: [route('cart')] }, { route: [route('cart')] }],
      }),
    ],
    message:
      'http[0].match[0].method GET never matches cart.default.svc.cluster.local, a gRPC service (every call is POST)',
    good: [
      service('cart', 7070, 'grpc'),
      deployment('cart', 'v1', { port: 7070 }),
      vs('cart', {
        hosts: ['cart'],
        http: [
          { match: [{ uri: { prefix: '/hipstershop.CartService/' } }], route: [route('cart')] },
          { route: [route('cart')] },
        ],
      }),
    ],
  },
  {
    code: 'MESH801',
    bad: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }],
    drop: ['Namespace/default'],
    message: 'namespace default is not enabled for Istio injection',
    good: [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'default', labels: { 'istio-injection': 'disabled' } },
      },
    ],
  },
  {
    // A namespace without injection whose workloads have a route and a policy: a warning per workload.
    code: 'MESH802',
    bad: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
      vs('reviews', {
        hosts: ['reviews'],
        http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }],
      }),
      ap('ratings-viewer', { selector: { matchLabels: { app: 'ratings' } }, rules: [{}] }),
    ],
    drop: ['Namespace/default'],
    message:
      'ratings-v1 runs without the Envoy sidecar (namespace default has no istio-injection or istio.io/rev label): AuthorizationPolicy default/ratings-viewer is not enforced on it',
    // Near miss: the same unlabelled namespace, but no route or policy applies to its workloads (MESH801's info only).
    good: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
      ap('ratings-viewer', { selector: { matchLabels: { app: 'other' } }, rules: [{}] }),
    ],
  },
  {
    code: 'MESH951',
    bad: [
      vs('reviews', { hosts: ['reviews'], http: [{ route: [route('reviews', 'v1')] }] }),
      httpRoute('reviews', 'reviews', [{ name: 'reviews', port: 9080 }]),
    ],
    message:
      'Service default/reviews is also routed by VirtualService default/reviews: Istio applies only one of them',
    // Near miss: the VirtualService binds only an ingress gateway, not the mesh.
    good: [
      vs('reviews', {
        hosts: ['reviews'],
        gateways: ['bookinfo'],
        http: [{ route: [route('reviews', 'v1')] }],
      }),
      httpRoute('reviews', 'reviews', [{ name: 'reviews', port: 9080 }]),
    ],
  },
  {
    code: 'MESH952',
    drop: ['Namespace/default'],
    bad: [
      ambientNs,
      ap('reviews-viewer', {
        selector: { matchLabels: { app: 'reviews' } },
        rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
      }),
    ],
    message:
      'rules[0] has L7 fields (to.operation.methods) and selects reviews-v1, reviews-v2, captured by ztunnel: ztunnel cannot evaluate them and enforces the policy as DENY',
    // Near miss: the same rule attached to the waypoint through the Service.
    good: [
      ambientNs,
      ap('reviews-viewer', {
        targetRefs: [{ group: '', kind: 'Service', name: 'reviews' }],
        rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
      }),
    ],
  },
  {
    code: 'MESH953',
    bad: [httpRoute('reviews', 'reviews', [{ name: 'reviews-v3', port: 9080 }])],
    message: 'rules[0].backendRefs[0]: Service default/reviews-v3 not found',
    good: [httpRoute('reviews', 'reviews', [{ name: 'reviews', port: 9080 }])],
  },
  {
    code: 'MESH953',
    bad: [service('reviews-v9'), httpRoute('reviews', 'reviews', [{ name: 'reviews-v9', port: 9080 }])],
    message: 'rules[0].backendRefs[0]: Service default/reviews-v9 selects no pods ({"app":"reviews-v9"})',
    // Near miss: a version Service that selects the version's pods.
    good: [
      {
        ...service('reviews-v1'),
        spec: { selector: { app: 'reviews', version: 'v1' }, ports: [{ name: 'http', port: 9080 }] },
      },
      httpRoute('reviews', 'reviews', [{ name: 'reviews-v1', port: 9080 }]),
    ],
  },
  // The Gateway API v1.5.1 CRD schemas (standard channel), as the apiserver checks them.
  ...(
    [
      ['spec.rules[0].backendRefs[0].weight: must be >= 0 (got -1)', { weight: -1 }, {}],
      [
        'spec.rules[0].matches[0].path.type: must be one of Exact, PathPrefix, RegularExpression (got "Prefix")',
        {},
        { type: 'Prefix' },
      ],
    ] as const
  ).map(([message, ref, path]) => ({
    code: 'MESH001',
    bad: [
      gatewayApiMatch({ type: 'PathPrefix', value: '/', ...path }, { name: 'reviews', port: 9080, ...ref }),
    ],
    message,
    good: [gatewayApiMatch({ type: 'PathPrefix', value: '/' }, { name: 'reviews', port: 9080, weight: 1 })],
  })),
  {
    code: 'MESH001',
    bad: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata: { name: 'ratings', namespace: 'default' },
        spec: { parentRefs: [{ group: '', kind: 'Service', name: 'ratings' }], rules: [{ backendRef: [] }] },
      },
    ],
    message: 'spec.rules[0]: unknown field "backendRef"',
    good: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GRPCRoute',
        metadata: { name: 'ratings', namespace: 'default' },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name: 'ratings' }],
          rules: [{ backendRefs: [{ name: 'ratings', port: 9080 }] }],
        },
      },
    ],
  },
  {
    code: 'MESH001',
    bad: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1alpha2',
        kind: 'HTTPRoute',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: {},
      },
    ],
    message:
      'apiVersion: gateway.networking.k8s.io/v1alpha2 does not serve HTTPRoute: use gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1',
    good: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'HTTPRoute',
        metadata: { name: 'reviews', namespace: 'default' },
        spec: {},
      },
    ],
  },
  {
    code: 'MESH001',
    bad: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'waypoint', namespace: 'default' },
        spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008 }] },
      },
    ],
    message: 'spec.listeners[0]: missing required field "protocol"',
    good: [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'waypoint', namespace: 'default' },
        spec: {
          gatewayClassName: 'istio-waypoint',
          listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
        },
      },
    ],
  },
  {
    code: 'MESH955',
    drop: ['Namespace/default'],
    bad: [ambientNs, pa('default', { mtls: { mode: 'DISABLE' } })],
    message:
      'mtls.mode is DISABLE and applies to productpage-v1, reviews-v1, reviews-v2, ratings-v1, captured by ztunnel: ztunnel always uses mTLS (HBONE) between ambient pods and ignores DISABLE',
    // Near miss: PERMISSIVE, what ambient mode offers for plain text from outside.
    good: [ambientNs, pa('default', { mtls: { mode: 'PERMISSIVE' } })],
  },
  {
    code: 'MESH956',
    drop: ['Namespace/default'],
    bad: [
      waypointNs,
      waypointGw,
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          { match: [{ sourceLabels: { app: 'productpage' } }], route: [route('reviews', 'v2')] },
          { route: [route('reviews', 'v1')] },
        ],
      }),
    ],
    message:
      'http[0].match[0].sourceLabels {"app":"productpage"} on reviews (waypoint default/waypoint): the waypoint applies this route and does not see the client pod\'s labels',
    // Near miss: the same route in an ambient namespace without a waypoint.
    good: [
      ambientNs,
      vs('reviews', {
        hosts: ['reviews'],
        http: [
          { match: [{ sourceLabels: { app: 'productpage' } }], route: [route('reviews', 'v2')] },
          { route: [route('reviews', 'v1')] },
        ],
      }),
    ],
  },
  {
    code: 'MESH954',
    bad: [gatewayApiCrd('v1.2.1')],
    message: 'bundle version v1.2.1; Istio 1.30 requires v1.5 or newer',
    good: [gatewayApiCrd('v1.5.1')],
  },
  {
    code: 'MESH957',
    bad: [shopRatings, httpRoute('ratings', 'ratings', [{ name: 'ratings', namespace: 'shop', port: 9080 }])],
    message:
      'rules[0].backendRefs[0] refers to Service shop/ratings in another namespace, and no ReferenceGrant in shop lets HTTPRoute from default refer to it (ResolvedRefs=False, RefNotPermitted)',
    // Near miss: the ReferenceGrant in shop that allows it.
    good: [
      shopRatings,
      httpRoute('ratings', 'ratings', [{ name: 'ratings', namespace: 'shop', port: 9080 }]),
      {
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'ReferenceGrant',
        metadata: { name: 'routes-from-default', namespace: 'shop' },
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default' }],
          to: [{ group: '', kind: 'Service' }],
        },
      },
    ],
  },
  {
    code: 'MESH958',
    drop: ['Namespace/default'],
    bad: [waypointNs],
    message:
      'istio.io/use-waypoint=waypoint on namespace default: no Gateway default/waypoint; traffic is not sent through a waypoint',
    // Near miss: the waypoint exists.
    good: [waypointNs, waypointGw],
  },
];

function run(objs: KubeObject[], c: Pick<Case, 'drop' | 'calls' | 'undeployed'>) {
  const kept = baseMesh().filter((o) => !c.drop?.includes(`${o.kind}/${o.metadata?.name}`));
  return validate(
    buildModel(
      [...kept, ...objs].map((object, i) => ({ object, origin: { file: 'mesh.yaml', line: i + 1 } })),
      {
        ...(c.calls ? { calls: c.calls } : {}),
        ...(c.undeployed ? { undeployedSubsets: c.undeployed } : {}),
      },
    ),
  );
}

describe('validator rules', () => {
  test('the base fixture is clean', () => {
    expect(run([], {})).toEqual([]);
  });

  test('there are at least 25 rules, with distinct codes, each covered by a case here', () => {
    const codes = RULES.map((r) => r.code);
    expect(codes.length).toBeGreaterThanOrEqual(25);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...new Set(CASES.map((c) => c.code))].sort()).toEqual([...codes].sort());
    for (const r of ruleTable()) expect(r.hint.length).toBeGreaterThan(10);
  });

  test.each(CASES.map((c) => [c.code, c.message, c] as const))(
    'fails with %s if … %s',
    (code, message, c) => {
      const found = run(c.bad, c).filter((f) => f.code === code);
      expect(found.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
      const rule = RULES.find((r) => r.code === code)!;
      expect(found[0]!.severity).toBe(rule.severity);
      expect(found[0]!.hint).toBe(rule.hint);
      expect(found[0]!.where).toMatch(/^mesh\.yaml:\w+\/[\w.-]+:\d+$/);
    },
  );

  test.each(CASES.map((c) => [c.code, c] as const))('%s: the near-miss passes', (code, c) => {
    expect(run(c.good, c).filter((f) => f.code === code)).toEqual([]);
  });

  test('the suppress annotation and option silence a code (ours or the upstream one)', () => {
    const bad = vs(
      'r',
      { hosts: ['reviews'], http: [{ route: [route('reviewz')] }] },
      { annotations: { 'galley.istio.io/analyze-suppress': 'IST0101' } },
    );
    expect(run([bad], {}).filter((f) => f.code === 'MESH101')).toEqual([]);
    const model = buildModel(
      [...baseMesh(), vs('r', { hosts: ['reviews'], http: [{ route: [route('reviewz')] }] })].map(
        (object) => ({ object }),
      ),
    );
    expect(validate(model, { suppress: ['MESH101'] }).filter((f) => f.code === 'MESH101')).toEqual([]);
    expect(validate(model).filter((f) => f.code === 'MESH101')).toHaveLength(1);
  });

  test('a rule that throws is reported as MESH000 and the other rules still run', () => {
    const model = buildModel(
      [...baseMesh(), vs('r', { hosts: ['reviews'], http: [{ route: [route('reviewz')] }] })].map(
        (object) => ({ object }),
      ),
    );
    const broken = {
      ...RULES[0]!,
      code: 'MESH999',
      check: () => {
        throw new Error('cannot read properties of undefined');
      },
    };
    const found = validate(model, { rules: [broken, ...RULES] });
    expect(found.find((f) => f.code === 'MESH000')).toEqual({
      code: 'MESH000',
      severity: 'error',
      mirrors: [],
      where: 'MESH999',
      object: 'validator',
      message: 'rule MESH999 failed: cannot read properties of undefined',
      hint: 'this is a bug in the validator; please report it with the input',
    });
    expect(found.filter((f) => f.code === 'MESH101')).toHaveLength(1);
  });
});
