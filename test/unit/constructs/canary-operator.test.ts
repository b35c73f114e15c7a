import { Chart, Testing } from 'cdk8s';
import { canaryReleaseCrd } from '../../../api/v1alpha1/index.js';
import { CanaryOperator, OPERATOR_NAME } from '../../../constructs/index.js';

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  spec?: Record<string, unknown>;
}

function synth(props: ConstructorParameters<typeof CanaryOperator>[2]) {
  const chart = new Chart(Testing.app(), 'operator');
  new CanaryOperator(chart, 'operator', props);
  return Testing.synth(chart) as Obj[];
}

describe('CanaryOperator', () => {
  const objs = synth({ image: 'example/operator:1' });
  const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);

  test('emits the CRD, namespace, identity, least-privilege RBAC and the Deployment', () => {
    expect(kinds).toEqual([
      'CustomResourceDefinition/canaryreleases.delivery.cdk8s-mesh.io',
      'Namespace/cdk8s-mesh-system',
      `ServiceAccount/${OPERATOR_NAME}`,
      `ClusterRole/${OPERATOR_NAME}`,
      `ClusterRoleBinding/${OPERATOR_NAME}`,
      `Role/${OPERATOR_NAME}-leader-election`,
      `RoleBinding/${OPERATOR_NAME}-leader-election`,
      `Deployment/${OPERATOR_NAME}`,
    ]);
    expect(objs[0]).toEqual(canaryReleaseCrd());
  });

  test('the ClusterRole grants only what the operator does', () => {
    const role = objs.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toStrictEqual([
      {
        apiGroups: ['delivery.cdk8s-mesh.io'],
        resources: ['canaryreleases'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['delivery.cdk8s-mesh.io'],
        resources: ['canaryreleases/status'],
        verbs: ['get', 'patch', 'update'],
      },
      {
        apiGroups: ['networking.istio.io'],
        resources: ['virtualservices'],
        verbs: ['get', 'list', 'watch', 'create', 'patch'],
      },
      {
        apiGroups: ['networking.istio.io'],
        resources: ['destinationrules'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        apiGroups: ['gateway.networking.k8s.io'],
        resources: ['httproutes', 'grpcroutes'],
        verbs: ['get', 'patch'],
      },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ]);
    for (const rule of role.rules!) expect(rule.verbs).not.toContain('delete');
    const lease = objs.find((o) => o.kind === 'Role')!;
    expect(lease.metadata.namespace).toBe('cdk8s-mesh-system');
    expect(lease.rules).toStrictEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
  });

  test('the Deployment runs two replicas, restricted, with the Prometheus URL', () => {
    const d = objs.find((o) => o.kind === 'Deployment')! as unknown as {
      spec: {
        replicas: number;
        template: {
          spec: {
            containers: {
              env: { name: string; value?: string; valueFrom?: object }[];
              securityContext: object;
            }[];
          };
        };
      };
    };
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0]!;
    expect(c.env).toEqual([
      { name: 'PROMETHEUS_URL', value: 'http://prometheus.istio-system:9090' },
      { name: 'LEASE_NAMESPACE', value: 'cdk8s-mesh-system' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'LISTEN_ADDRESS', value: ':8080' },
    ]);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('port sets the container port, both probes and LISTEN_ADDRESS together', () => {
    const d = synth({ image: 'example/operator:1', port: 9443 }).find(
      (o) => o.kind === 'Deployment',
    )! as unknown as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const c = d.spec.template.spec.containers[0]!;
    expect(c.ports).toStrictEqual([{ containerPort: 9443 }]);
    expect((c.readinessProbe as { httpGet: object }).httpGet).toStrictEqual({
      path: '/readyz',
      port: 9443,
      scheme: 'HTTP',
    });
    expect((c.livenessProbe as { httpGet: object }).httpGet).toStrictEqual({
      path: '/healthz',
      port: 9443,
      scheme: 'HTTP',
    });
    expect(c.env).toContainEqual({ name: 'LISTEN_ADDRESS', value: ':9443' });
  });

  test('fails if port is not a TCP port', () => {
    expect(() => synth({ image: 'example/operator:1', port: 70000 })).toThrow(
      /operator\/operator: invalid props\n {2}- port: /,
    );
  });

  test('watching one namespace binds the ClusterRole there only', () => {
    const scoped = synth({ image: 'example/operator:1', watchNamespace: 'shop', installCrd: false });
    expect(scoped.map((o) => o.kind)).not.toContain('CustomResourceDefinition');
    const binding = scoped.find((o) => o.metadata.name === OPERATOR_NAME && o.kind.endsWith('Binding'))!;
    expect(binding.kind).toBe('RoleBinding');
    expect(binding.metadata.namespace).toBe('shop');
  });

  test('fails if the Prometheus URL is not a URL', () => {
    expect(() => synth({ image: 'example/operator:1', prometheusUrl: 'prometheus:9090' })).toThrow(
      /operator\/operator: invalid props\n {2}- prometheusUrl: /,
    );
  });
});
