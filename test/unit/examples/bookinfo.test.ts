/**
 * Every Bookinfo scenario reproduces its upstream manifest (Istio 1.30.3 samples, and the
 * reference write-up's inline YAML) field by field: the Istio objects' `spec` exactly, the
 * Kubernetes objects on the fields upstream sets (we add a restricted security context).
 */
import { Testing } from 'cdk8s';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

const upstreamDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/bookinfo-upstream');

function upstream(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(join(upstreamDir, file), 'utf8'))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o);
}

function synth(name: ScenarioName): K8sObject[] {
  const app = Testing.app();
  const { mesh } = buildScenario(app, name);
  return Testing.synth(mesh) as K8sObject[];
}

function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** Upstream Istio objects of `file`, each expected to be synthesized with an equal spec. */
const istioFiles: [ScenarioName, string][] = [
  ['platform', 'destination-rule-all.yaml'],
  ['gateway', 'bookinfo-gateway.yaml'],
  ['all-v1', 'virtual-service-all-v1.yaml'],
  ['reviews-jason-v2', 'virtual-service-reviews-test-v2.yaml'],
  ['reviews-jason-v2-v3', 'virtual-service-reviews-jason-v2-v3.yaml'],
  ['reviews-50-v3', 'virtual-service-reviews-50-v3.yaml'],
  ['reviews-80-20', 'virtual-service-reviews-80-20.yaml'],
  ['reviews-90-10', 'virtual-service-reviews-90-10.yaml'],
  ['reviews-v2-v3', 'virtual-service-reviews-v2-v3.yaml'],
  ['reviews-v3', 'virtual-service-reviews-v3.yaml'],
  ['reviews-random-lb', 'destination-rule-reviews.yaml'],
  ['jason-delay', 'virtual-service-ratings-test-delay.yaml'],
  ['jason-abort', 'virtual-service-ratings-test-abort.yaml'],
  ['details-v2', 'virtual-service-details-v2.yaml'],
  ['details-abort', 'fault-injection-details-v1.yaml'],
  ['ratings-db', 'virtual-service-ratings-db.yaml'],
  ['ratings-mysql', 'virtual-service-ratings-mysql.yaml'],
  ['ratings-mysql-vm', 'virtual-service-ratings-mysql-vm.yaml'],
];

describe('Bookinfo scenarios equal the upstream Istio manifests', () => {
  test.each(istioFiles)('%s reproduces %s', (scenario, file) => {
    const objs = synth(scenario);
    const expected = upstream(file);
    expect(expected.length).toBeGreaterThan(0);
    for (const u of expected) {
      const got = find(objs, u.kind, u.metadata.name);
      expect(got.apiVersion).toBe(u.apiVersion);
      expect(got.spec).toEqual(u.spec);
    }
  });
});

describe('Bookinfo platform equals samples/bookinfo/platform/kube/bookinfo.yaml where upstream sets a field', () => {
  const objs = synth('platform');
  const platform = upstream('bookinfo.yaml');

  test.each(platform.filter((o) => o.kind === 'Service').map((o) => [o.metadata.name, o] as const))(
    'Service %s',
    (_name, u) => {
      const got = find(objs, 'Service', u.metadata.name);
      expect(got.metadata.labels).toEqual(u.metadata.labels);
      const ports = (got.spec?.ports as { name: string; port: number }[]).map(({ name, port }) => ({
        name,
        port,
      }));
      expect(ports).toEqual(u.spec?.ports);
      expect(got.spec?.selector).toEqual(u.spec?.selector);
    },
  );

  test.each(platform.filter((o) => o.kind === 'ServiceAccount').map((o) => [o.metadata.name, o] as const))(
    'ServiceAccount %s',
    (_name, u) => {
      expect(find(objs, 'ServiceAccount', u.metadata.name).metadata.labels).toMatchObject(
        u.metadata.labels ?? {},
      );
    },
  );

  type Pod = {
    metadata: { labels: Record<string, string> };
    spec: {
      serviceAccountName: string;
      containers: {
        name: string;
        image: string;
        env?: { name: string; value: string }[];
        ports: { containerPort: number }[];
        volumeMounts?: { mountPath: string }[];
        securityContext?: Record<string, unknown>;
      }[];
      securityContext?: Record<string, unknown>;
    };
  };
  test.each(platform.filter((o) => o.kind === 'Deployment').map((o) => [o.metadata.name, o] as const))(
    'Deployment %s',
    (_name, u) => {
      const got = find(objs, 'Deployment', u.metadata.name);
      expect(got.metadata.labels).toEqual(u.metadata.labels);
      expect(got.spec?.selector).toEqual(u.spec?.selector);
      expect(got.spec?.replicas).toBe(u.spec?.replicas);
      const gt = got.spec?.template as Pod;
      const ut = u.spec?.template as Pod;
      expect(gt.metadata.labels).toMatchObject(ut.metadata.labels);
      expect(gt.spec.serviceAccountName).toBe(ut.spec.serviceAccountName);
      const [gc, uc] = [gt.spec.containers[0]!, ut.spec.containers[0]!];
      expect(gc.name).toBe(uc.name);
      expect(gc.image).toBe(uc.image);
      expect(gc.env ?? []).toEqual(uc.env ?? []);
      expect(gc.ports.map((p) => p.containerPort)).toEqual(uc.ports.map((p) => p.containerPort));
      // Upstream's writable mounts, plus /tmp everywhere: the root filesystem is read-only.
      const mounts = new Set([...(uc.volumeMounts ?? []).map((m) => m.mountPath), '/tmp']);
      expect((gc.volumeMounts ?? []).map((m) => m.mountPath).sort()).toEqual([...mounts].sort());
      expect(gc.securityContext?.readOnlyRootFilesystem).toBe(true);
      // Beyond upstream: Pod Security `restricted`.
      expect(gc.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
    },
  );

  test('every deployed version is a subset, and nothing else is deployed', () => {
    const deployments = objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(deployments.sort()).toEqual(
      platform
        .filter((o) => o.kind === 'Deployment')
        .map((o) => o.metadata.name)
        .sort(),
    );
  });
});

describe('the reference write-up, scenario by scenario', () => {
  test('mtls-strict: PeerAuthentication with mode STRICT for the namespace', () => {
    const pa = find(synth('mtls-strict'), 'PeerAuthentication', 'default');
    expect(pa.spec).toEqual({ mtls: { mode: 'STRICT' } });
    expect(synth('mtls-strict').filter((o) => o.kind === 'AuthorizationPolicy')).toEqual([]);
  });

  test('zero-trust: allow-nothing, then the three viewer policies of the reference', () => {
    const objs = synth('zero-trust');
    expect(find(objs, 'AuthorizationPolicy', 'allow-nothing').spec).toEqual({});
    expect(find(objs, 'AuthorizationPolicy', 'productpage-viewer').spec).toEqual({
      selector: { matchLabels: { app: 'productpage' } },
      action: 'ALLOW',
      rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
    });
    for (const app of ['details', 'reviews']) {
      expect(find(objs, 'AuthorizationPolicy', `${app}-viewer`).spec).toEqual({
        selector: { matchLabels: { app } },
        action: 'ALLOW',
        rules: [
          {
            from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-productpage'] } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ],
      });
    }
    // ratings stays closed, as at the end of the reference.
    expect(objs.find((o) => o.metadata.name === 'ratings-viewer')).toBeUndefined();
    expect(find(objs, 'PeerAuthentication', 'default').spec).toEqual({ mtls: { mode: 'STRICT' } });
  });

  test('zero-trust-call-graph: the gateway principal reaches productpage, reviews reaches ratings', () => {
    const objs = synth('zero-trust-call-graph');
    expect(find(objs, 'AuthorizationPolicy', 'productpage-viewer').spec?.rules).toEqual([
      {
        from: [
          {
            source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] },
          },
        ],
      },
    ]);
    expect(find(objs, 'AuthorizationPolicy', 'ratings-viewer').spec?.rules).toEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-reviews'] } }],
        to: [{ operation: { methods: ['GET'] } }],
      },
    ]);
  });

  test('ingress-port-mtls-exception: test-gateway, nginx-service for one host, and the port-level exception', () => {
    const objs = synth('ingress-port-mtls-exception');
    expect(find(objs, 'Gateway', 'test-gateway').spec).toEqual({
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    });
    expect(find(objs, 'VirtualService', 'nginx-service').spec).toEqual({
      hosts: ['www.example.com'],
      gateways: ['test-gateway'],
      http: [{ route: [{ destination: { host: 'nginx-app', port: { number: 80 } } }] }],
    });
    expect(find(objs, 'PeerAuthentication', 'example-workload-policy').spec).toEqual({
      selector: { matchLabels: { app: 'nginx-app' } },
      portLevelMtls: { '8080': { mode: 'DISABLE' } },
    });
  });

  test('gateway-https: Certificate in istio-system whose secret the Gateway names as credentialName', () => {
    const objs = synth('gateway-https');
    const cert = find(objs, 'Certificate', 'bookinfo-gateway-cert');
    expect(cert.metadata.namespace).toBe('istio-system');
    expect(cert.spec).toEqual({
      secretName: 'bookinfo-gateway-cert',
      dnsNames: ['bookinfo.example.com'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
    const servers = find(objs, 'Gateway', 'bookinfo-gateway').spec?.servers as { tls?: unknown }[];
    expect(servers.map((s) => s.tls)).toEqual([
      { httpsRedirect: true },
      { mode: 'SIMPLE', credentialName: 'bookinfo-gateway-cert' },
    ]);
  });

  test('every scenario synthesizes and has a description', () => {
    for (const name of Object.keys(SCENARIOS) as ScenarioName[]) {
      expect(SCENARIOS[name].description.length).toBeGreaterThan(10);
      expect(synth(name).length).toBeGreaterThan(10);
    }
  });
});
