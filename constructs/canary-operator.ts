import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  DEFAULT_LEASE_TIMINGS,
  leaseTimingsProblem,
  requestTimeoutProblem,
  showMs,
} from '../api/operator-timings.js';
import { canaryReleaseCrd, GROUP, PLURAL } from '../api/v1alpha1/index.js';
import { RESTRICTED_CONTAINER } from './pod-security.js';
import { checkProps, dnsLabel, duration } from './validation.js';

export interface CanaryOperatorProps {
  /** Container image of the operator (built from this repository: `node operator/main.ts`). */
  readonly image: string;
  /** Namespace the operator runs in (and holds its Lease). @default 'cdk8s-mesh-system' */
  readonly namespace?: string;
  /** Replicas; one acts at a time through leader election on a Lease. @default 2 */
  readonly replicas?: number;
  /** Prometheus that has Istio's standard metrics. @default 'http://prometheus.istio-system:9090' */
  readonly prometheusUrl?: string;
  /** Namespace whose releases it manages. @default - all namespaces */
  readonly watchNamespace?: string;
  /** Emit the CanaryRelease CRD. @default true */
  readonly installCrd?: boolean;
  /**
   * Port of `/metrics`, `/healthz` and `/readyz`: the container port, the probes' port and the
   * operator's `LISTEN_ADDRESS`.
   * @default 8080
   */
  readonly port?: number;
  /**
   * How long the other replicas wait after the leader last renewed its Lease before one takes
   * over (`--lease-duration`): a crashed leader's releases wait this long. Whole seconds, 1s to 1h,
   * longer than `renewDeadline`.
   * @default Duration.seconds(15) (client-go's)
   */
  readonly leaseDuration?: Duration;
  /**
   * How long the leader keeps acting while it cannot renew its Lease (`--renew-deadline`).
   * Shorter than `leaseDuration`, so a leader cut off stops before another may start, and longer
   * than 1.2 × `retryPeriod`, so it gets more than one try.
   * @default Duration.seconds(10) (client-go's)
   */
  readonly renewDeadline?: Duration;
  /**
   * How often each replica tries to take or renew the Lease (`--retry-period`); at least 100 ms.
   * @default Duration.seconds(2) (client-go's)
   */
  readonly retryPeriod?: Duration;
  /**
   * Time allowed for one request to the apiserver, answer included (`--request-timeout`); a
   * request past it is abandoned and retried, so a hung connection cannot hold a release. 1s to
   * 10 min. Watches are bounded apart (reopened after 90 s without even a bookmark).
   * @default Duration.seconds(30)
   */
  readonly requestTimeout?: Duration;
}

const ms = (d: Duration | undefined) => (d === undefined ? undefined : d.toMilliseconds({ integral: false }));

const schema = z
  .strictObject({
    image: z.string().min(1),
    namespace: dnsLabel.default('cdk8s-mesh-system'),
    replicas: z.number().int().min(1).default(2),
    prometheusUrl: z
      .url({
        protocol: /^https?$/,
        error: 'expected an http(s) URL, e.g. http://prometheus.istio-system:9090',
      })
      .default('http://prometheus.istio-system:9090'),
    watchNamespace: dnsLabel.optional(),
    installCrd: z.boolean().default(true),
    port: z.number().int().min(1).max(65535).default(8080),
    leaseDuration: duration.optional(),
    renewDeadline: duration.optional(),
    retryPeriod: duration.optional(),
    requestTimeout: duration.optional(),
  })
  .superRefine((p, ctx) => {
    // the rules the operator checks at start (api/operator-timings.ts), here at synth
    const given = p.leaseDuration ?? p.renewDeadline ?? p.retryPeriod;
    if (given !== undefined) {
      const problem = leaseTimingsProblem(
        {
          leaseDurationMs: ms(p.leaseDuration) ?? DEFAULT_LEASE_TIMINGS.leaseDurationMs,
          renewDeadlineMs: ms(p.renewDeadline) ?? DEFAULT_LEASE_TIMINGS.renewDeadlineMs,
          retryPeriodMs: ms(p.retryPeriod) ?? DEFAULT_LEASE_TIMINGS.retryPeriodMs,
        },
        { leaseDuration: 'leaseDuration', renewDeadline: 'renewDeadline', retryPeriod: 'retryPeriod' },
      );
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    }
    const timeout = ms(p.requestTimeout);
    const problem = timeout === undefined ? undefined : requestTimeoutProblem(timeout, 'requestTimeout');
    if (problem) ctx.addIssue({ code: 'custom', path: ['requestTimeout'], message: problem });
  });

/** The name of the operator's objects (ServiceAccount, roles, Deployment, Lease). */
export const OPERATOR_NAME = 'cdk8s-mesh-operator';

/**
 * The install manifests of the CanaryRelease operator: its CRD, Namespace, ServiceAccount, a
 * least-privilege ClusterRole (read releases and write their status, read and patch
 * VirtualServices, read DestinationRules and Deployments, set Deployments' replicas through their
 * scale subresource, write Events), a Role for its Lease,
 * the bindings, and the Deployment (Pod Security `restricted`).
 */
export class CanaryOperator extends Construct {
  readonly serviceAccount: kplus.ServiceAccount;
  readonly deployment: kplus.Deployment;

  constructor(scope: Construct, id: string, props: CanaryOperatorProps) {
    super(scope, id);
    const p = checkProps(this, schema, props);
    const ns = p.namespace;
    const labels = { app: OPERATOR_NAME };
    const meta = { name: OPERATOR_NAME, namespace: ns, labels };

    if (p.installCrd)
      new ApiObject(this, 'Crd', canaryReleaseCrd() as unknown as ConstructorParameters<typeof ApiObject>[2]);
    new kplus.Namespace(this, 'Namespace', {
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: meta,
      automountToken: true,
    });

    const clusterRole = new ApiObject(this, 'ClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: OPERATOR_NAME, labels },
      rules: [
        { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'patch', 'update'] },
        {
          apiGroups: ['networking.istio.io'],
          resources: ['virtualservices'],
          // create: a release with a template owns its VirtualService (docs/releases.md, GitOps)
          verbs: ['get', 'list', 'watch', 'create', 'patch'],
        },
        {
          apiGroups: ['networking.istio.io'],
          resources: ['destinationrules'],
          verbs: ['get', 'list', 'watch'],
        },
        // Releases on the Gateway API: the driven HTTPRoute or GRPCRoute is read and patched by
        // name, and watched (an edit is seen at once); create: a release with a template owns its
        // route (docs/releases.md, GitOps).
        {
          apiGroups: ['gateway.networking.k8s.io'],
          resources: ['httproutes', 'grpcroutes'],
          verbs: ['get', 'list', 'watch', 'create', 'patch'],
        },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
        // Scale-down of the losing version and its undoing: replicas only, never the pod template.
        { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    });
    const subjects = [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: ns }];
    const watched = p.watchNamespace;
    new ApiObject(this, 'ClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: watched ? 'RoleBinding' : 'ClusterRoleBinding',
      metadata: watched
        ? { name: OPERATOR_NAME, namespace: watched, labels }
        : { name: OPERATOR_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.name },
      subjects,
    });
    new ApiObject(this, 'LeaseRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { ...meta, name: `${OPERATOR_NAME}-leader-election` },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ],
    });
    new ApiObject(this, 'LeaseRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { ...meta, name: `${OPERATOR_NAME}-leader-election` },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: `${OPERATOR_NAME}-leader-election`,
      },
      subjects,
    });

    const flags = (
      [
        ['--lease-duration', p.leaseDuration],
        ['--renew-deadline', p.renewDeadline],
        ['--retry-period', p.retryPeriod],
        ['--request-timeout', p.requestTimeout],
      ] as const
    ).flatMap(([flag, d]) => (d === undefined ? [] : [`${flag}=${showMs(ms(d)!)}`]));
    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: meta,
      replicas: p.replicas,
      select: false,
      podMetadata: { labels, annotations: { 'sidecar.istio.io/inject': 'false' } },
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: true,
      securityContext: { ensureNonRoot: true },
      containers: [
        {
          name: 'operator',
          image: p.image,
          portNumber: p.port,
          // the timings given, as the flags the operator takes (the others keep its defaults)
          ...(flags.length ? { args: flags } : {}),
          envVariables: {
            PROMETHEUS_URL: kplus.EnvValue.fromValue(p.prometheusUrl),
            LEASE_NAMESPACE: kplus.EnvValue.fromValue(ns),
            // The replica's identity as Lease holder and Event reporter.
            POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
            ...(watched ? { WATCH_NAMESPACE: kplus.EnvValue.fromValue(watched) } : {}),
            LISTEN_ADDRESS: kplus.EnvValue.fromValue(`:${p.port}`),
          },
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: p.port }),
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: p.port }),
          securityContext: RESTRICTED_CONTAINER,
          resources: {
            cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
            memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
          },
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels }));
  }
}
