/**
 * Istio's Bookinfo sample as a typed program: the four services of
 * `samples/bookinfo/platform/kube/bookinfo.yaml` (Istio 1.30.3) with the same names, images,
 * ServiceAccounts and versions, and every scenario of the reference write-up and of
 * `samples/bookinfo/networking/` as its own Mesh chart.
 */
import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  App,
  CanaryRelease,
  IngressGateway,
  Mesh,
  ZeroTrustPolicy,
  type AppProps,
  type MeshProps,
} from '../../constructs/index.js';

const image = (name: string) => `registry.istio.io/release/examples-bookinfo-${name}-{version}:1.20.3`;

export interface Bookinfo {
  readonly mesh: Mesh;
  readonly productpage: App;
  readonly details: App;
  readonly reviews: App;
  readonly ratings: App;
}

export type ServiceName = 'productpage' | 'details' | 'reviews' | 'ratings';

export interface BookinfoOptions {
  /** Namespace of the sample. @default 'default' */
  readonly namespace?: string;
  /** Props to add to (or override on) a service's App. @default - upstream's services as they are */
  readonly services?: Partial<Record<ServiceName, Partial<AppProps>>>;
  /** The data plane and traffic API of the mesh (and, in ambient mode, whether it has a waypoint). @default - sidecars and Istio's API */
  readonly mode?: Pick<MeshProps, 'dataPlane' | 'trafficApi' | 'waypoint'>;
}

/** The Bookinfo services in a new Mesh chart named `id`. */
export function bookinfo(scope: Construct, id: string, options: BookinfoOptions = {}): Bookinfo {
  const mesh = new Mesh(scope, id, { namespace: options.namespace, ...options.mode });
  const common = { port: 9080 } as const;
  const extra = options.services ?? {};
  const productpage = new App(mesh, 'productpage', {
    ...common,
    image: image('productpage'),
    serviceAccountName: 'bookinfo-productpage',
    ...extra.productpage,
  });
  const details = new App(mesh, 'details', {
    ...common,
    image: image('details'),
    serviceAccountName: 'bookinfo-details',
    // v2 is a subset of the upstream DestinationRule; bookinfo.yaml deploys only v1.
    versions: ['v1', { name: 'v2', deploy: false }],
    ...extra.details,
  });
  const reviews = new App(mesh, 'reviews', {
    ...common,
    image: image('reviews'),
    serviceAccountName: 'bookinfo-reviews',
    versions: ['v1', 'v2', 'v3'],
    env: { LOG_DIR: '/tmp/logs' },
    writablePaths: ['/tmp', '/opt/ibm/wlp/output'],
    ...extra.reviews,
  });
  const ratings = new App(mesh, 'ratings', {
    ...common,
    image: image('ratings'),
    serviceAccountName: 'bookinfo-ratings',
    versions: ['v1', ...['v2', 'v2-mysql', 'v2-mysql-vm'].map((name) => ({ name, deploy: false }))],
    ...extra.ratings,
  });
  return { mesh, productpage, details, reviews, ratings };
}

/** A scenario: what it shows, the upstream files it reproduces, and how it is built. */
export interface Scenario {
  readonly description: string;
  /** Upstream files (in samples/bookinfo/) whose objects this scenario reproduces. */
  readonly upstream: readonly string[];
  /** Props this scenario adds to the services themselves. @default - none */
  readonly services?: BookinfoOptions['services'];
  readonly build: (b: Bookinfo) => void;
}

const toV1 = (...apps: App[]) => apps.forEach((a) => a.addRoute({ to: [{ subset: 'v1' }] }));
const jason = [{ headers: { 'end-user': { exact: 'jason' } } }];
const split = (app: App, weights: Record<string, number>) =>
  app.addRoute({ to: Object.entries(weights).map(([subset, weight]) => ({ subset, weight })) });

export const SCENARIOS = {
  platform: {
    description:
      'The four services, their ServiceAccounts, Deployments, and a DestinationRule with a subset per version',
    upstream: ['platform/kube/bookinfo.yaml', 'networking/destination-rule-all.yaml'],
    build: () => undefined,
  },
  gateway: {
    description: 'Ingress Gateway on port 8080 and the VirtualService sending the app paths to productpage',
    upstream: ['networking/bookinfo-gateway.yaml'],
    build: ({ mesh, productpage }) => {
      const gw = new IngressGateway(mesh, 'bookinfo-gateway', { port: 8080, virtualServiceName: 'bookinfo' });
      gw.route({
        paths: [
          { exact: '/productpage' },
          { prefix: '/static' },
          { exact: '/login' },
          { exact: '/logout' },
          { prefix: '/api/v1/products' },
        ],
        to: productpage,
      });
    },
  },
  'all-v1': {
    description: 'Every service routed to v1',
    upstream: ['networking/virtual-service-all-v1.yaml'],
    build: ({ productpage, reviews, ratings, details }) => toV1(productpage, reviews, ratings, details),
  },
  'reviews-jason-v2': {
    description: 'Requests with end-user: jason go to reviews v2, everyone else to v1',
    upstream: ['networking/virtual-service-reviews-test-v2.yaml'],
    build: ({ reviews }) => {
      reviews.addRoute({ match: jason, to: [{ subset: 'v2' }] });
      reviews.addRoute({ to: [{ subset: 'v1' }] });
    },
  },
  'reviews-jason-v2-v3': {
    description: 'jason to reviews v2, everyone else to v3',
    upstream: ['networking/virtual-service-reviews-jason-v2-v3.yaml'],
    build: ({ reviews }) => {
      reviews.addRoute({ match: jason, to: [{ subset: 'v2' }] });
      reviews.addRoute({ to: [{ subset: 'v3' }] });
    },
  },
  'reviews-50-v3': {
    description: 'reviews: 50% v1, 50% v3',
    upstream: ['networking/virtual-service-reviews-50-v3.yaml'],
    build: ({ reviews }) => split(reviews, { v1: 50, v3: 50 }),
  },
  'reviews-80-20': {
    description: 'reviews: 80% v1, 20% v2',
    upstream: ['networking/virtual-service-reviews-80-20.yaml'],
    build: ({ reviews }) => split(reviews, { v1: 80, v2: 20 }),
  },
  'reviews-90-10': {
    description: 'reviews: 90% v1, 10% v2',
    upstream: ['networking/virtual-service-reviews-90-10.yaml'],
    build: ({ reviews }) => split(reviews, { v1: 90, v2: 10 }),
  },
  'reviews-v2-v3': {
    description: 'reviews: 50% v2, 50% v3',
    upstream: ['networking/virtual-service-reviews-v2-v3.yaml'],
    build: ({ reviews }) => split(reviews, { v2: 50, v3: 50 }),
  },
  'reviews-v3': {
    description: 'reviews: all to v3',
    upstream: ['networking/virtual-service-reviews-v3.yaml'],
    build: ({ reviews }) => reviews.addRoute({ to: [{ subset: 'v3' }] }),
  },
  'reviews-random-lb': {
    description: 'reviews DestinationRule with the RANDOM load balancer',
    upstream: ['networking/destination-rule-reviews.yaml'],
    services: { reviews: { trafficPolicy: { loadBalancer: 'RANDOM' } } },
    build: () => undefined,
  },
  'jason-delay': {
    description:
      'A 7 s delay on ratings v1 for jason (who reaches ratings through reviews v2); others unaffected',
    upstream: ['networking/virtual-service-ratings-test-delay.yaml'],
    build: ({ reviews, ratings }) => {
      reviews.addRoute({ match: jason, to: [{ subset: 'v2' }] });
      reviews.addRoute({ to: [{ subset: 'v1' }] });
      ratings.addRoute({
        match: jason,
        fault: { delay: { fixedDelay: Duration.seconds(7), percentage: 100 } },
        to: [{ subset: 'v1' }],
      });
      ratings.addRoute({ to: [{ subset: 'v1' }] });
    },
  },
  'jason-abort': {
    description: 'HTTP 500 from ratings for jason; others unaffected',
    upstream: ['networking/virtual-service-ratings-test-abort.yaml'],
    build: ({ reviews, ratings }) => {
      reviews.addRoute({ match: jason, to: [{ subset: 'v2' }] });
      reviews.addRoute({ to: [{ subset: 'v1' }] });
      ratings.addRoute({
        match: jason,
        fault: { abort: { httpStatus: 500, percentage: 100 } },
        to: [{ subset: 'v1' }],
      });
      ratings.addRoute({ to: [{ subset: 'v1' }] });
    },
  },
  'details-v2': {
    description: 'details: all to v2',
    upstream: ['networking/virtual-service-details-v2.yaml'],
    build: ({ details }) => details.addRoute({ to: [{ subset: 'v2' }] }),
  },
  'details-abort': {
    description: 'details v1 answers every request with HTTP 555 (fault injection without a match)',
    upstream: ['networking/fault-injection-details-v1.yaml'],
    services: { details: { versions: ['v1'] } }, // upstream's DestinationRule here declares v1 only
    build: ({ details }) => {
      details.addRoute({ fault: { abort: { httpStatus: 555, percentage: 100 } }, to: [{ subset: 'v1' }] });
      details.addRoute({ to: [{ subset: 'v1' }] });
    },
  },
  'ratings-db': {
    description: 'reviews v3 calling ratings v2 (MongoDB)',
    upstream: ['networking/virtual-service-ratings-db.yaml'],
    build: ({ reviews, ratings }) => {
      reviews.addRoute({ to: [{ subset: 'v3' }] });
      ratings.addRoute({ to: [{ subset: 'v2' }] });
    },
  },
  'ratings-mysql': {
    description: 'reviews v3 calling ratings v2-mysql',
    upstream: ['networking/virtual-service-ratings-mysql.yaml'],
    build: ({ reviews, ratings }) => {
      reviews.addRoute({ to: [{ subset: 'v3' }] });
      ratings.addRoute({ to: [{ subset: 'v2-mysql' }] });
    },
  },
  'ratings-mysql-vm': {
    description: 'reviews v3 calling ratings v2-mysql-vm',
    upstream: ['networking/virtual-service-ratings-mysql-vm.yaml'],
    build: ({ reviews, ratings }) => {
      reviews.addRoute({ to: [{ subset: 'v3' }] });
      ratings.addRoute({ to: [{ subset: 'v2-mysql-vm' }] });
    },
  },
  'mtls-strict': {
    description: 'STRICT mutual TLS for the namespace (plain-text callers are refused)',
    upstream: ['reference: PeerAuthentication default-strict'],
    build: ({ mesh }) =>
      void new ZeroTrustPolicy(mesh, 'zero-trust', { mtls: 'STRICT', allowNothing: false }),
  },
  'zero-trust': {
    description:
      'The reference, step by step: STRICT mTLS, allow-nothing, then productpage-viewer (GET from anyone), details-viewer and reviews-viewer for the productpage principal',
    upstream: ['reference: allow-nothing, productpage-viewer, details-viewer, reviews-viewer'],
    build: ({ mesh, productpage, details, reviews }) => {
      const zt = new ZeroTrustPolicy(mesh, 'zero-trust', { allowIngressGateway: false });
      zt.allowFromAnyone(productpage, { methods: ['GET'] });
      productpage.calls(details, { methods: ['GET'] });
      productpage.calls(reviews, { methods: ['GET'] });
    },
  },
  'zero-trust-call-graph': {
    description:
      'Zero trust derived from the whole call graph: the ingress gateway to productpage, productpage to details and reviews, reviews to ratings',
    upstream: [],
    build: ({ mesh, productpage, details, reviews, ratings }) => {
      new ZeroTrustPolicy(mesh, 'zero-trust');
      new IngressGateway(mesh, 'bookinfo-gateway', { port: 8080, virtualServiceName: 'bookinfo' }).route({
        paths: [{ exact: '/productpage' }, { prefix: '/static' }, { exact: '/login' }, { exact: '/logout' }],
        to: productpage,
      });
      productpage.calls(details, { methods: ['GET'] });
      productpage.calls(reviews, { methods: ['GET'] });
      reviews.calls(ratings, { methods: ['GET'] });
    },
  },
  'ingress-port-mtls-exception': {
    description:
      'The reference ingress walk-through: an nginx App behind test-gateway for one host, and a PeerAuthentication turning mTLS off on its container port (8080: the unprivileged nginx image that Pod Security restricted needs listens there; the reference used root nginx on 80)',
    upstream: ['reference: test-gateway, nginx-service, example-workload-policy'],
    build: ({ mesh }) => {
      const nginx = new App(mesh, 'nginx-app', {
        image: 'nginxinc/nginx-unprivileged:1.29-alpine',
        port: 80,
        targetPort: 8080,
      });
      new IngressGateway(mesh, 'test-gateway', {
        virtualServiceName: 'nginx-service',
        virtualServiceHosts: ['www.example.com'],
      }).route({ to: nginx });
      // No ALLOW policy for the gateway (as in the reference): on the plain-text port the gateway has
      // no principal to match, so one would deny every request (the validator's MESH506).
      new ZeroTrustPolicy(mesh, 'zero-trust', {
        mtls: 'STRICT',
        allowNothing: false,
        allowIngressGateway: false,
      }).addPortException(nginx, 8080, 'DISABLE', 'example-workload-policy');
    },
  },
  'gateway-https': {
    description:
      'The Bookinfo gateway over HTTPS with a cert-manager Certificate (ClusterIssuer letsencrypt) and HTTP redirected',
    upstream: ['networking/bookinfo-gateway.yaml (HTTPS variant)'],
    build: ({ mesh, productpage }) => {
      new IngressGateway(mesh, 'bookinfo-gateway', {
        virtualServiceName: 'bookinfo',
        hosts: ['bookinfo.example.com'],
        tls: { dnsNames: ['bookinfo.example.com'], issuer: { name: 'letsencrypt' }, httpsRedirect: true },
      }).route({ paths: [{ exact: '/productpage' }, { prefix: '/static' }], to: productpage });
    },
  },
  'canary-reviews-v3': {
    description:
      'A CanaryRelease of reviews v3 on the route "primary" (v1 100 / v3 0): jason first, a mirror, 10/25/50% with success-rate and p99 SLOs, a 7 s delay fault test, a manual gate, then promotion',
    upstream: [],
    build: ({ mesh, reviews }) =>
      void new CanaryRelease(mesh, 'reviews-v3', {
        app: reviews,
        stable: 'v1',
        canary: 'v3',
        revision: '1.20.3',
        steps: [
          { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
          { mirror: { percentage: 50, duration: '1m' } },
          { setWeight: 10 },
          { setWeight: 25 },
          {
            faultTest: {
              delay: { fixedDelay: '7s', percentage: 100 },
              duration: '1m',
              successRate: { min: 95 },
            },
          },
          { setWeight: 50 },
          { pause: {} },
        ],
        analysis: {
          interval: '30s',
          threshold: 2,
          successRate: { min: 99 },
          latencyP99: { max: '500ms' },
          compareToStable: { maxSuccessRateDrop: 1 },
          missingData: { policy: 'FailAfterDeadline', deadline: '5m' },
        },
      }),
  },
  resilience: {
    description:
      'Timeouts and retries on reviews, a circuit breaker and consistent hashing on ratings, 10% mirroring to reviews v3, a local rate limit on productpage',
    upstream: [],
    services: {
      ratings: {
        trafficPolicy: {
          loadBalancer: { consistentHash: { httpHeaderName: 'end-user' } },
          connectionPool: { maxConnections: 100, http1MaxPendingRequests: 10, maxRequestsPerConnection: 1 },
          outlierDetection: {
            consecutive5xxErrors: 5,
            interval: Duration.seconds(10),
            baseEjectionTime: Duration.seconds(30),
          },
        },
      },
    },
    build: ({ reviews, productpage }) => {
      reviews.addRoute({
        to: [{ subset: 'v2' }],
        timeout: Duration.seconds(3),
        retries: { attempts: 2, perTryTimeout: Duration.seconds(1), retryOn: '5xx,connect-failure' },
        mirror: { subset: 'v3', percentage: 10 },
      });
      productpage.addLocalRateLimit({ maxTokens: 100, fillInterval: Duration.seconds(1) });
    },
  },
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;

/** Builds one scenario as a Mesh chart named after it. */
export function buildScenario(scope: Construct, name: ScenarioName, options: BookinfoOptions = {}): Bookinfo {
  const scenario: Scenario = SCENARIOS[name];
  const b = bookinfo(scope, name, { ...options, services: { ...scenario.services, ...options.services } });
  scenario.build(b);
  return b;
}
