/**
 * Google's Online Boutique (GoogleCloudPlatform/microservices-demo) as a typed program: an HTTP
 * frontend, nine gRPC services, a Redis datastore spoken to over TCP, a client-only load generator
 * and calls to external APIs. Names, images, ports, environment, resources and probes are those of
 * upstream's `release/kubernetes-manifests.yaml` (v0.2.0 images), the gateway and external services
 * those of its `release/istio-manifests.yaml`; beyond upstream, every pod runs under Pod Security
 * `restricted` with its own ServiceAccount, the mesh reaches only registered hosts, zero trust comes
 * from the call graph, and a CanaryRelease can run on the gRPC product catalog.
 */
import { Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  App,
  CanaryRelease,
  Client,
  ExternalService,
  IngressGateway,
  Mesh,
  ZeroTrustPolicy,
  type AppProps,
  type CanaryReleaseProps,
  type Probe,
} from '../../constructs/index.js';

/** Upstream's image of a service. */
export const boutiqueImage = (service: string) =>
  `gcr.io/google-samples/microservices-demo/${service}:v0.2.0`;

/** The gRPC services of the application (package `hipstershop`). */
export type GrpcServiceName =
  | 'emailservice'
  | 'checkoutservice'
  | 'recommendationservice'
  | 'paymentservice'
  | 'productcatalogservice'
  | 'cartservice'
  | 'currencyservice'
  | 'shippingservice'
  | 'adservice';

export interface Boutique {
  readonly mesh: Mesh;
  readonly frontend: App;
  readonly grpc: Readonly<Record<GrpcServiceName, App>>;
  readonly redis: App;
  readonly loadgenerator: Client;
  readonly zeroTrust: ZeroTrustPolicy;
}

export interface BoutiqueOptions {
  /** Namespace. @default 'default' (upstream's) */
  readonly namespace?: string;
  /** Versions of the product catalog (a CanaryRelease needs two). @default ['v1'] */
  readonly productCatalogVersions?: AppProps['versions'];
  /** Image of the product catalog. @default - upstream's */
  readonly productCatalogImage?: string;
}

/** The upstream container's health check: `grpc_health_probe` run in the container. */
const grpcHealth = (port: number, timing: Omit<Probe, 'exec'> = {}, extra: string[] = []): Probe => ({
  exec: { command: ['/bin/grpc_health_probe', `-addr=:${port}`, ...extra] },
  ...timing,
});

/** What every upstream gRPC service shares, and what Pod Security `restricted` adds. */
function grpcService(
  port: number,
  props: Partial<AppProps> & { probe?: Omit<Probe, 'exec'>; liveness?: Probe },
): AppProps {
  const { probe, ...rest } = props;
  return {
    protocol: 'grpc',
    port,
    containerName: 'server',
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    readiness: grpcHealth(port, probe),
    liveness: grpcHealth(port, probe),
    terminationGracePeriod: Duration.seconds(5),
    runAsUser: 1000,
    runAsGroup: 1000,
    fsGroup: 1000,
    writablePaths: [],
    ...rest,
  };
}

const svc = (name: string) => `hipstershop.${name}`;

/** The application in a new Mesh chart named `id`, with zero trust from its call graph. */
export function boutique(scope: Construct, id: string, options: BoutiqueOptions = {}): Boutique {
  const mesh = new Mesh(scope, id, {
    namespace: options.namespace,
    // Only registered hosts are reachable: the external APIs below are declared.
    outboundTrafficPolicy: 'REGISTRY_ONLY',
  });
  const app = (name: string, props: AppProps) =>
    new App(mesh, name, { image: boutiqueImage(name), ...props });

  const emailservice = app(
    'emailservice',
    grpcService(5000, {
      targetPort: 8080,
      env: { PORT: '8080', DISABLE_PROFILER: '1' },
      readiness: grpcHealth(8080, { period: Duration.seconds(5) }),
      liveness: grpcHealth(8080, { period: Duration.seconds(5) }),
    }),
  );
  const productcatalogservice = app(
    'productcatalogservice',
    grpcService(3550, {
      env: { PORT: '3550' },
      versions: options.productCatalogVersions ?? ['v1'],
      image: options.productCatalogImage ?? boutiqueImage('productcatalogservice'),
    }),
  );
  const checkoutservice = app(
    'checkoutservice',
    grpcService(5050, {
      terminationGracePeriod: undefined,
      env: {
        PORT: '5050',
        PRODUCT_CATALOG_SERVICE_ADDR: 'productcatalogservice:3550',
        SHIPPING_SERVICE_ADDR: 'shippingservice:50051',
        PAYMENT_SERVICE_ADDR: 'paymentservice:50051',
        EMAIL_SERVICE_ADDR: 'emailservice:5000',
        CURRENCY_SERVICE_ADDR: 'currencyservice:7000',
        CART_SERVICE_ADDR: 'cartservice:7070',
      },
    }),
  );
  const recommendationservice = app(
    'recommendationservice',
    grpcService(8080, {
      env: { PORT: '8080', PRODUCT_CATALOG_SERVICE_ADDR: 'productcatalogservice:3550' },
      probe: { period: Duration.seconds(5) },
      resources: { requests: { cpu: '100m', memory: '220Mi' }, limits: { cpu: '200m', memory: '450Mi' } },
    }),
  );
  const paymentservice = app('paymentservice', grpcService(50051, { env: { PORT: '50051' } }));
  const cartservice = app(
    'cartservice',
    grpcService(7070, {
      env: { REDIS_ADDR: 'redis-cart:6379', PORT: '7070', LISTEN_ADDR: '0.0.0.0' },
      resources: { requests: { cpu: '200m', memory: '64Mi' }, limits: { cpu: '300m', memory: '128Mi' } },
      readiness: grpcHealth(7070, { initialDelay: Duration.seconds(15) }, ['-rpc-timeout=5s']),
      liveness: grpcHealth(7070, { initialDelay: Duration.seconds(15), period: Duration.seconds(10) }, [
        '-rpc-timeout=5s',
      ]),
    }),
  );
  const currencyservice = app('currencyservice', grpcService(7000, { env: { PORT: '7000' } }));
  const shippingservice = app(
    'shippingservice',
    grpcService(50051, {
      terminationGracePeriod: undefined,
      env: { PORT: '50051' },
      readiness: grpcHealth(50051, { period: Duration.seconds(5) }),
    }),
  );
  const adservice = app(
    'adservice',
    grpcService(9555, {
      env: { PORT: '9555' },
      resources: { requests: { cpu: '200m', memory: '180Mi' }, limits: { cpu: '300m', memory: '300Mi' } },
      probe: { initialDelay: Duration.seconds(20), period: Duration.seconds(15) },
    }),
  );
  const redis = new App(mesh, 'redis-cart', {
    image: 'redis:alpine',
    containerName: 'redis',
    // Upstream names the port `redis`; Istio treats that as TCP, which `tcp-redis` says outright.
    ports: [{ port: 6379, protocol: 'tcp', name: 'tcp-redis' }],
    resources: { requests: { cpu: '70m', memory: '200Mi' }, limits: { cpu: '125m', memory: '256Mi' } },
    readiness: { tcp: { port: 6379 }, period: Duration.seconds(5) },
    liveness: { tcp: { port: 6379 }, period: Duration.seconds(5) },
    writablePaths: ['/data'],
    runAsUser: 1000,
    runAsGroup: 1000,
    fsGroup: 1000,
  });
  const frontend = new App(mesh, 'frontend', {
    image: boutiqueImage('frontend'),
    containerName: 'server',
    port: 80,
    targetPort: 8080,
    podAnnotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' },
    readiness: {
      http: { path: '/_healthz', port: 8080, headers: { Cookie: 'shop_session-id=x-readiness-probe' } },
      initialDelay: Duration.seconds(10),
    },
    liveness: {
      http: { path: '/_healthz', port: 8080, headers: { Cookie: 'shop_session-id=x-liveness-probe' } },
      initialDelay: Duration.seconds(10),
    },
    env: {
      PORT: '8080',
      PRODUCT_CATALOG_SERVICE_ADDR: 'productcatalogservice:3550',
      CURRENCY_SERVICE_ADDR: 'currencyservice:7000',
      CART_SERVICE_ADDR: 'cartservice:7070',
      RECOMMENDATION_SERVICE_ADDR: 'recommendationservice:8080',
      SHIPPING_SERVICE_ADDR: 'shippingservice:50051',
      CHECKOUT_SERVICE_ADDR: 'checkoutservice:5050',
      AD_SERVICE_ADDR: 'adservice:9555',
      ENV_PLATFORM: 'gcp',
    },
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 80 },
    runAsUser: 1000,
    runAsGroup: 1000,
    fsGroup: 1000,
  });
  const loadgenerator = new Client(mesh, 'loadgenerator', {
    image: boutiqueImage('loadgenerator'),
    containerName: 'main',
    env: { FRONTEND_ADDR: 'frontend:80', USERS: '10' },
    podAnnotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' },
    resources: { requests: { cpu: '300m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
    terminationGracePeriod: Duration.seconds(5),
    runAsUser: 1000,
    runAsGroup: 1000,
    fsGroup: 1000,
  });

  new IngressGateway(mesh, 'frontend-gateway', { virtualServiceName: 'frontend-ingress' }).route({
    to: frontend,
  });
  // The external APIs of upstream's istio-manifests.yaml (no resolution there: Istio's NONE).
  const web = [
    { number: 80, protocol: 'HTTP' },
    { number: 443, protocol: 'HTTPS' },
  ] as const;
  new ExternalService(mesh, 'currency-provider-external', {
    hosts: ['www.ecb.europa.eu'],
    ports: web,
    resolution: 'NONE',
  });
  new ExternalService(mesh, 'whitelist-egress-googleapis', {
    hosts: ['accounts.google.com', '*.googleapis.com'],
    ports: web,
    resolution: 'NONE',
  });
  new ExternalService(mesh, 'whitelist-egress-google-metadata', {
    hosts: ['metadata.google.internal'],
    addresses: ['169.254.169.254'],
    ports: web,
    resolution: 'NONE',
  });

  // Zero trust from the call graph: each callee allows exactly its callers, by gRPC service,
  // method, HTTP method or (Redis) port.
  const zeroTrust = new ZeroTrustPolicy(mesh, 'zero-trust');
  loadgenerator.calls(frontend, { methods: ['GET', 'POST'] });
  frontend.calls(productcatalogservice, { grpcServices: [svc('ProductCatalogService')] });
  frontend.calls(currencyservice, {
    grpcMethods: [`/${svc('CurrencyService')}/GetSupportedCurrencies`, `/${svc('CurrencyService')}/Convert`],
  });
  frontend.calls(cartservice, { grpcServices: [svc('CartService')] });
  frontend.calls(recommendationservice, {
    grpcMethods: [`/${svc('RecommendationService')}/ListRecommendations`],
  });
  frontend.calls(shippingservice, { grpcMethods: [`/${svc('ShippingService')}/GetQuote`] });
  frontend.calls(checkoutservice, { grpcMethods: [`/${svc('CheckoutService')}/PlaceOrder`] });
  frontend.calls(adservice, { grpcMethods: [`/${svc('AdService')}/GetAds`] });
  checkoutservice.calls(productcatalogservice, {
    grpcMethods: [`/${svc('ProductCatalogService')}/GetProduct`],
  });
  checkoutservice.calls(shippingservice, { grpcServices: [svc('ShippingService')] });
  checkoutservice.calls(paymentservice, { grpcMethods: [`/${svc('PaymentService')}/Charge`] });
  checkoutservice.calls(emailservice, { grpcMethods: [`/${svc('EmailService')}/SendOrderConfirmation`] });
  checkoutservice.calls(currencyservice, { grpcMethods: [`/${svc('CurrencyService')}/Convert`] });
  checkoutservice.calls(cartservice, {
    grpcMethods: [`/${svc('CartService')}/GetCart`, `/${svc('CartService')}/EmptyCart`],
  });
  recommendationservice.calls(productcatalogservice, {
    grpcMethods: [`/${svc('ProductCatalogService')}/ListProducts`],
  });
  cartservice.calls(redis);

  return {
    mesh,
    frontend,
    redis,
    loadgenerator,
    zeroTrust,
    grpc: {
      emailservice,
      checkoutservice,
      recommendationservice,
      paymentservice,
      productcatalogservice,
      cartservice,
      currencyservice,
      shippingservice,
      adservice,
    },
  };
}

/** Options of {@link boutiqueWithCanary}. */
export interface BoutiqueCanaryOptions extends BoutiqueOptions {
  /** The release's steps. @default 20%, then 50% */
  readonly steps?: CanaryReleaseProps['steps'];
  /** The release's analysis. @default every 30s, success rate (gRPC) at least 99%, 2 failed checks roll back */
  readonly analysis?: CanaryReleaseProps['analysis'];
}

/**
 * The application with a second version of the product catalog and a CanaryRelease that moves
 * traffic to it step by step, watching the gRPC success rate (`grpc_response_status`).
 */
export function boutiqueWithCanary(
  scope: Construct,
  id: string,
  options: BoutiqueCanaryOptions = {},
): Boutique & { canary: CanaryRelease } {
  const { steps, analysis, ...rest } = options;
  const b = boutique(scope, id, {
    productCatalogVersions: ['v1', 'v2'],
    productCatalogImage: 'gcr.io/google-samples/microservices-demo/productcatalogservice:{version}',
    ...rest,
  });
  const canary = new CanaryRelease(b.mesh, 'productcatalog-v2', {
    app: b.grpc.productcatalogservice,
    stable: 'v1',
    canary: 'v2',
    steps: steps ?? [{ setWeight: 20 }, { setWeight: 50 }],
    analysis: analysis ?? { interval: '30s', threshold: 2, successRate: { min: 99 } },
  });
  return { ...b, canary };
}
