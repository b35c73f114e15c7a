import { Chart, Duration, Testing } from 'cdk8s';
import { canaryReleaseCrd } from '../../../api/v1alpha1/index.js';
import { CanaryOperator, OPERATOR_NAME } from '../../../constructs/index.js';
import { parseLeaseTimings, parseRequestTimeout } from '../../../operator/runtime/lease-timings.js';

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
        verbs: ['get', 'list', 'watch', 'create', 'patch'],
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

  const containerOf = (o: Obj[]) =>
    (
      o.find((x) => x.kind === 'Deployment') as unknown as {
        spec: { template: { spec: { containers: { args?: string[] }[] } } };
      }
    ).spec.template.spec.containers[0]!;

  test('no timings given: no flags, the operator keeps its defaults (15s / 10s / 2s, 30s)', () => {
    expect(containerOf(objs).args).toBeUndefined();
  });

  test('the lease timings and the request timeout go to the operator as its flags', () => {
    const c = containerOf(
      synth({
        image: 'example/operator:1',
        leaseDuration: Duration.seconds(30),
        renewDeadline: Duration.seconds(20),
        retryPeriod: Duration.millis(2500),
        requestTimeout: Duration.minutes(1),
      }),
    );
    expect(c.args).toStrictEqual([
      '--lease-duration=30s',
      '--renew-deadline=20s',
      '--retry-period=2500ms',
      '--request-timeout=60s',
    ]);
    // the operator reads them back as given
    const value = (flag: string) => c.args!.find((a) => a.startsWith(`${flag}=`))!.split('=')[1];
    expect(
      parseLeaseTimings({
        leaseDuration: value('--lease-duration'),
        renewDeadline: value('--renew-deadline'),
        retryPeriod: value('--retry-period'),
      }),
    ).toStrictEqual({
      ok: true,
      value: { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 2500 },
    });
    expect(parseRequestTimeout(value('--request-timeout'))).toStrictEqual({ ok: true, value: 60_000 });
  });

  test('one timing given is checked against the defaults of the others, and only it is passed', () => {
    expect(
      containerOf(synth({ image: 'example/operator:1', leaseDuration: Duration.minutes(1) })).args,
    ).toStrictEqual(['--lease-duration=60s']);
  });

  test.each<[string, Partial<ConstructorParameters<typeof CanaryOperator>[2]>, string]>([
    [
      'the renew deadline is not shorter than the lease duration',
      { renewDeadline: Duration.seconds(20) },
      'renewDeadline: renewDeadline (20s) must be shorter than leaseDuration (15s): a leader that cannot renew must stop acting before another replica may take over',
    ],
    [
      'the lease duration is not whole seconds',
      { leaseDuration: Duration.millis(15_500) },
      'leaseDuration: leaseDuration must be whole seconds from 1s to 1h (got 15500ms): the Lease stores it as leaseDurationSeconds',
    ],
    [
      'the retry period leaves the leader one try',
      { retryPeriod: Duration.seconds(9) },
      'renewDeadline: renewDeadline (10s) must be longer than 1.2 × retryPeriod (9s): the leader needs more than one try to renew before it gives up',
    ],
    [
      'the retry period is under 100 ms',
      { retryPeriod: Duration.millis(50) },
      'retryPeriod: retryPeriod must be at least 100ms (got 50ms): every replica reads and writes the Lease this often',
    ],
    [
      'the request timeout is under a second',
      { requestTimeout: Duration.millis(500) },
      'requestTimeout: requestTimeout must be from 1s to 600s (got 500ms): every request to the apiserver is abandoned after it, so a shorter one fails ordinary answers and a longer one lets a hung connection hold a release',
    ],
  ])('fails if %s', (_, timings, message) => {
    expect(() => synth({ image: 'example/operator:1', ...timings })).toThrow(
      `operator/operator: invalid props\n  - ${message}`,
    );
  });

  test('fails if a timing is a number of seconds instead of a Duration', () => {
    expect(() => synth({ image: 'example/operator:1', leaseDuration: 15 as unknown as Duration })).toThrow(
      /- leaseDuration: expected a cdk8s Duration, e.g. Duration.seconds\(7\)/,
    );
  });
});
