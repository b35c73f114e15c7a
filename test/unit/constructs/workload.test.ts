/** The pod props every workload shares (constructs/workload.ts), seen through an App and a Client. */
import { Duration } from 'cdk8s';
import { App, Client, MeshPropsError, type AppProps } from '../../../constructs/index.js';
import { errorOf, newMesh, ofKind, one, synth, type K8sObject } from './helpers.js';

interface Container {
  name: string;
  ports?: { containerPort: number }[];
  resources?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  command?: string[];
  args?: string[];
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}
const pod = (d: K8sObject) =>
  d.spec!.template as {
    metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    spec: PodSpec;
  };
const container = (d: K8sObject) => pod(d).spec.containers[0]!;

function build(props: AppProps) {
  const mesh = newMesh();
  const app = new App(mesh, 'cart', { image: 'registry/cart:1', ...props });
  return { app, objs: synth(mesh) };
}

describe('resources', () => {
  test('default: requests 100m CPU and 128Mi, no limits (not cdk8s-plus’s 1 CPU / 512Mi)', () => {
    const { objs } = build({});
    expect(container(one(objs, 'Deployment', 'cart-v1')).resources).toStrictEqual({
      requests: { cpu: '100m', memory: '128Mi' },
    });
  });

  test('requests and limits as written', () => {
    const resources = { requests: { cpu: '70m', memory: '200Mi' }, limits: { cpu: '125m', memory: '256Mi' } };
    const { objs } = build({ resources });
    expect(container(one(objs, 'Deployment', 'cart-v1')).resources).toStrictEqual(resources);
  });

  test('fails if a quantity is not one', () => {
    const e = errorOf(() => build({ resources: { requests: { cpu: '1 core' } } }));
    expect(e).toBeInstanceOf(MeshPropsError);
    expect(e.message).toContain(
      "resources.requests.cpu: must be a Kubernetes quantity such as '100m', '0.5', '128Mi' or '1Gi' (received \"1 core\")",
    );
  });
});

describe('probes', () => {
  test('an HTTP App: a TCP readiness probe on its container port, and no startup probe', () => {
    const { objs } = build({ port: 80, targetPort: 8080 });
    const c = container(one(objs, 'Deployment', 'cart-v1'));
    expect(c.readinessProbe).toStrictEqual({ tcpSocket: { port: 8080 } });
    expect(c.startupProbe).toBeUndefined();
    expect(c.livenessProbe).toBeUndefined();
  });

  test('a gRPC App: the gRPC health check on its container port', () => {
    const { objs } = build({ protocol: 'grpc', port: 7070 });
    expect(container(one(objs, 'Deployment', 'cart-v1')).readinessProbe).toStrictEqual({
      grpc: { port: 7070 },
    });
  });

  test('http, grpc, tcp and exec probes with their timing', () => {
    const { objs } = build({
      port: 8080,
      readiness: {
        http: { path: '/_healthz', headers: { Cookie: 'a=b' } },
        initialDelay: Duration.seconds(10),
        period: Duration.seconds(5),
      },
      liveness: { exec: { command: ['/bin/grpc_health_probe', '-addr=:8080'] }, failureThreshold: 5 },
      startup: { grpc: { port: 9000, service: 'hipstershop.CartService' }, timeout: Duration.seconds(2) },
    });
    const c = container(one(objs, 'Deployment', 'cart-v1'));
    expect(c.readinessProbe).toStrictEqual({
      httpGet: { path: '/_healthz', port: 8080, httpHeaders: [{ name: 'Cookie', value: 'a=b' }] },
      initialDelaySeconds: 10,
      periodSeconds: 5,
    });
    expect(c.livenessProbe).toStrictEqual({
      exec: { command: ['/bin/grpc_health_probe', '-addr=:8080'] },
      failureThreshold: 5,
    });
    expect(c.startupProbe).toStrictEqual({
      grpc: { port: 9000, service: 'hipstershop.CartService' },
      timeoutSeconds: 2,
    });
  });

  test('readiness: false leaves the readiness probe out', () => {
    const { objs } = build({ readiness: false });
    expect(container(one(objs, 'Deployment', 'cart-v1')).readinessProbe).toBeUndefined();
  });

  test('fails if a probe names two checks', () => {
    const e = errorOf(() => build({ liveness: { tcp: {}, exec: { command: ['true'] } } }));
    expect(e.message).toContain(
      'liveness: a probe has exactly one of http, grpc, tcp or exec (got tcp, exec)',
    );
  });
});

describe('pod security ids, labels and annotations', () => {
  test('runAsUser, runAsGroup and fsGroup land in the pod security context beside runAsNonRoot', () => {
    const { objs } = build({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 });
    expect(pod(one(objs, 'Deployment', 'cart-v1')).spec.securityContext).toStrictEqual({
      fsGroup: 2000,
      fsGroupChangePolicy: 'Always',
      runAsGroup: 1000,
      runAsNonRoot: true,
      runAsUser: 1000,
    });
  });

  test('fails if runAsUser is root', () => {
    expect(errorOf(() => build({ runAsUser: 0 })).message).toContain(
      'runAsUser: runAsUser 0 is root, which Pod Security restricted refuses',
    );
  });

  test('pod labels and annotations join the app/version labels and the sidecar annotation', () => {
    const { objs } = build({
      podLabels: { team: 'cart' },
      podAnnotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' },
      sidecar: false,
    });
    const meta = pod(one(objs, 'Deployment', 'cart-v1')).metadata;
    expect(meta.labels).toMatchObject({ team: 'cart', app: 'cart', version: 'v1' });
    expect(meta.annotations).toStrictEqual({
      'sidecar.istio.io/rewriteAppHTTPProbers': 'true',
      'sidecar.istio.io/inject': 'false',
    });
  });

  test('fails if pod labels override app or version, or annotations the sidecar switch', () => {
    expect(errorOf(() => build({ podLabels: { app: 'x' } })).message).toContain(
      'podLabels: the workload sets the app and version labels itself; choose other keys',
    );
    expect(
      errorOf(() => build({ podAnnotations: { 'sidecar.istio.io/inject': 'false' } })).message,
    ).toContain('podAnnotations: set sidecar: false instead of the sidecar.istio.io/inject annotation');
  });

  test('terminationGracePeriod, command and args', () => {
    const { objs } = build({ terminationGracePeriod: Duration.seconds(5), command: ['/srv'], args: ['-v'] });
    const d = one(objs, 'Deployment', 'cart-v1');
    expect(pod(d).spec.terminationGracePeriodSeconds).toBe(5);
    expect(container(d).command).toStrictEqual(['/srv']);
    expect(container(d).args).toStrictEqual(['-v']);
  });
});

describe('autoscaling', () => {
  test('a HorizontalPodAutoscaler per deployed version; the Deployment leaves replicas to it', () => {
    const { objs } = build({
      versions: ['v1', 'v2'],
      autoscaling: { minReplicas: 2, maxReplicas: 5, cpuUtilization: 70, memoryUtilization: 90 },
    });
    expect(one(objs, 'Deployment', 'cart-v1').spec!.replicas).toBeUndefined();
    expect(ofKind(objs, 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).toStrictEqual([
      'cart-v1',
      'cart-v2',
    ]);
    expect(one(objs, 'HorizontalPodAutoscaler', 'cart-v2')).toStrictEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'cart-v2', namespace: 'default', labels: { app: 'cart', version: 'v2' } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart-v2' },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
          {
            type: 'Resource',
            resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 90 } },
          },
        ],
      },
    });
  });

  test('fails if maxReplicas is below minReplicas, or a CPU target has no CPU request', () => {
    expect(errorOf(() => build({ autoscaling: { minReplicas: 4, maxReplicas: 2 } })).message).toContain(
      'autoscaling.maxReplicas: maxReplicas 2 is below minReplicas 4',
    );
    expect(
      errorOf(() => build({ resources: { requests: { memory: '64Mi' } }, autoscaling: { maxReplicas: 3 } }))
        .message,
    ).toContain(
      'resources.requests.cpu: a CPU utilization target needs a CPU request: set resources.requests.cpu',
    );
  });
});

describe('Client', () => {
  test('a client-only workload: ServiceAccount and Deployment, no Service, no port, no probe; it has a principal', () => {
    const mesh = newMesh();
    const lg = new Client(mesh, 'loadgenerator', { image: 'registry/lg:1' });
    const objs = synth(mesh).filter((o) => o.kind !== 'Namespace');
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toStrictEqual([
      'ServiceAccount/loadgenerator',
      'Deployment/loadgenerator',
    ]);
    const d = one(objs, 'Deployment', 'loadgenerator');
    expect(pod(d).metadata.labels).toMatchObject({ app: 'loadgenerator' });
    expect(container(d).ports).toBeUndefined();
    expect(container(d).readinessProbe).toBeUndefined();
    expect(container(d).startupProbe).toBeUndefined();
    expect(lg.principal).toBe('cluster.local/ns/default/sa/loadgenerator');
  });

  test('fails if a Client is given a readiness probe', () => {
    const mesh = newMesh();
    expect(
      errorOf(() => new Client(mesh, 'lg', { image: 'x', readiness: { exec: { command: ['true'] } } }))
        .message,
    ).toContain('readiness: a Client serves nothing');
  });
});

describe('identity: one setup for App and Client (MeshWorkload)', () => {
  test('the same ServiceAccount, principal and selector for both kinds; a shared ServiceAccount is one principal', () => {
    const mesh = newMesh();
    const app = new App(mesh, 'cart', { image: 'registry/cart:1', namespace: 'shop' });
    const lg = new Client(mesh, 'loadgenerator', { image: 'registry/lg:1', namespace: 'shop' });
    const job = new Client(mesh, 'job', {
      image: 'registry/job:1',
      namespace: 'shop',
      serviceAccountName: 'loadgenerator',
      shareServiceAccount: true,
    });
    const sas = ofKind(synth(mesh), 'ServiceAccount');
    expect(
      sas.map((o) => [
        o.metadata,
        (o as { automountServiceAccountToken?: boolean }).automountServiceAccountToken,
      ]),
    ).toStrictEqual([
      [{ name: 'cart', namespace: 'shop', labels: { app: 'cart', account: 'cart' } }, false],
      [
        {
          name: 'loadgenerator',
          namespace: 'shop',
          labels: { app: 'loadgenerator', account: 'loadgenerator' },
        },
        false,
      ],
    ]);
    expect([app, lg, job].map((w) => [w.principal, w.selector, w.mesh === mesh])).toStrictEqual([
      ['cluster.local/ns/shop/sa/cart', { app: 'cart' }, true],
      ['cluster.local/ns/shop/sa/loadgenerator', { app: 'loadgenerator' }, true],
      ['cluster.local/ns/shop/sa/loadgenerator', { app: 'job' }, true],
    ]);
    expect(mesh.workloads).toStrictEqual([app, lg, job]);
  });

  test("fails if a Client takes an App's name or ServiceAccount unannounced, or names a bad namespace", () => {
    const mesh = newMesh();
    new App(mesh, 'cart', { image: 'registry/cart:1' });
    expect(errorOf(() => new Client(mesh, 'cart-client', { name: 'cart', image: 'x' })).message).toBe(
      'bookinfo/cart-client: a workload named cart already exists in namespace default (bookinfo/cart); names of Services and Deployments must be unique: give one of them another name',
    );
    expect(
      errorOf(() => new Client(mesh, 'lg', { image: 'x', serviceAccountName: 'cart' })).message,
    ).toContain('ServiceAccount default/cart is already the identity of bookinfo/cart');
    const bad = errorOf(() => new Client(mesh, 'lg2', { image: 'x', namespace: 'Shop' })) as MeshPropsError;
    expect([bad.path, bad.issues.map((i) => i.field)]).toStrictEqual(['bookinfo/lg2', ['namespace']]);
  });
});

describe('several named ports', () => {
  test('each port named after its protocol, suffixed when two share one; the container exposes every target port', () => {
    const { app, objs } = build({
      ports: [
        { port: 8080, protocol: 'http' },
        { port: 9090, protocol: 'grpc' },
        { port: 9091, targetPort: 9191, protocol: 'grpc' },
        { port: 6379, protocol: 'tcp', name: 'tcp-redis' },
      ],
    });
    expect((one(objs, 'Service', 'cart').spec as { ports: unknown }).ports).toStrictEqual([
      { name: 'http', port: 8080, targetPort: 8080 },
      { name: 'grpc-9090', port: 9090, targetPort: 9090 },
      { name: 'grpc-9091', port: 9091, targetPort: 9191 },
      { name: 'tcp-redis', port: 6379, targetPort: 6379 },
    ]);
    expect(container(one(objs, 'Deployment', 'cart-v1')).ports).toStrictEqual([
      { containerPort: 8080 },
      { containerPort: 9090 },
      { containerPort: 9191 },
      { containerPort: 6379 },
    ]);
    expect([app.port, app.protocol]).toStrictEqual([8080, 'http']);
  });

  test('fails if a port name does not start with its protocol, a port repeats, or ports meets port', () => {
    const e = errorOf(() =>
      build({
        port: 80,
        ports: [
          { port: 6379, protocol: 'tcp', name: 'redis' },
          { port: 6379, protocol: 'tcp' },
        ],
      }),
    );
    expect(e.message).toContain('port: give either ports or port, not both: put it in ports[0]');
    expect(e.message).toContain(
      "ports[0].name: Istio reads the protocol from the port name: name a tcp port 'tcp' or 'tcp-<suffix>'",
    );
    expect(e.message).toContain('ports[1].port: Service port 6379 is also ports[0]');
  });
});
