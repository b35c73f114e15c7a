/**
 * The operator's install manifests, as `npm run synth` writes them, apply on the real apiserver;
 * the RBAC they grant is exactly what the operator needs and nothing else; its Pod is admitted in
 * a namespace enforcing Pod Security `restricted`.
 *
 * Permissions: the ServiceAccount is asked about every verb on every resource below, in the
 * namespace it watches, in its own namespace (the Lease), in another namespace and cluster-wide,
 * with SubjectAccessReviews against the real RBAC authorizer. {@link PERMISSIONS} is the whole
 * expected answer: a pair it does not list must be refused. A few real requests made as the
 * ServiceAccount (impersonated) confirm the reviews.
 */
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { GROUP, PLURAL } from '../../api/v1alpha1/index.js';
import { CanaryOperator, OPERATOR_NAME } from '../../constructs/index.js';
import { cluster } from '../harness/cluster.js';

const NS = 'cdk8s-mesh-system';
const WATCHED = 'shop';
const SA = `system:serviceaccount:${NS}:${OPERATOR_NAME}`;

type Scope = 'watched namespace' | 'own namespace' | 'other namespace' | 'cluster-wide';

/** What it may do with releases and what they drive, in a namespace it watches. */
const RELEASES: Record<string, string> = {
  [`${GROUP}/${PLURAL}`]: 'get list watch',
  [`${GROUP}/${PLURAL}/status`]: 'get patch update',
  // create: a release with a template owns its VirtualService
  'networking.istio.io/virtualservices': 'get list watch create patch',
  'networking.istio.io/destinationrules': 'get list watch',
  // releases on the Gateway API: the driven route, read and patched by name and watched; create:
  // a release with a template owns its route
  'gateway.networking.k8s.io/httproutes': 'get list watch create patch',
  'gateway.networking.k8s.io/grpcroutes': 'get list watch create patch',
  'apps/deployments': 'get list watch',
  // scale-down of the losing version (and its undoing): replicas only, never the pod template
  'apps/deployments/scale': 'patch',
  'core/events': 'create patch',
  'events.k8s.io/events': 'create patch',
};
const LEASE: Record<string, string> = { 'coordination.k8s.io/leases': 'get create update' };

/**
 * Everything the operator's ServiceAccount may do: scope → `group/resource[/subresource]` → verbs.
 * The one statement of the operator's permissions that the tests hold the install manifests to.
 */
const PERMISSIONS: Record<Scope, Record<string, string>> = {
  'watched namespace': RELEASES,
  'own namespace': LEASE,
  'other namespace': {},
  'cluster-wide': {},
};

/**
 * The same for an install that watches all namespaces (no `watchNamespace`: a ClusterRoleBinding):
 * what it needs for releases in every namespace and across them (its informers list and watch
 * cluster-wide), its Lease in its own namespace, and still nothing cluster-scoped, no Secrets, no
 * deletes, no writes but to what a release drives, its status and Events.
 */
const PERMISSIONS_ALL_NAMESPACES: Record<Scope, Record<string, string>> = {
  'watched namespace': RELEASES,
  'own namespace': { ...RELEASES, ...LEASE },
  'other namespace': RELEASES,
  'cluster-wide': RELEASES,
};
/** Where the all-namespaces install runs. */
const NS_ALL = 'cdk8s-mesh-all-namespaces';

/** The verbs asked about for every resource. */
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

/** Namespaced resources asked about (`core` is the empty API group). */
const NAMESPACED = [
  `${GROUP}/${PLURAL}`,
  `${GROUP}/${PLURAL}/status`,
  'networking.istio.io/virtualservices',
  'networking.istio.io/destinationrules',
  'networking.istio.io/gateways',
  'networking.istio.io/serviceentries',
  'networking.istio.io/sidecars',
  'security.istio.io/authorizationpolicies',
  'security.istio.io/peerauthentications',
  'gateway.networking.k8s.io/httproutes',
  'gateway.networking.k8s.io/grpcroutes',
  'gateway.networking.k8s.io/gateways',
  'apps/deployments',
  'apps/deployments/scale',
  'apps/replicasets',
  'core/pods',
  'core/pods/exec',
  'core/services',
  'core/secrets',
  'core/configmaps',
  'core/serviceaccounts',
  'core/serviceaccounts/token',
  'core/events',
  'events.k8s.io/events',
  'coordination.k8s.io/leases',
  'rbac.authorization.k8s.io/roles',
  'rbac.authorization.k8s.io/rolebindings',
];

/** Cluster-scoped resources asked about (besides the namespaced ones across all namespaces). */
const CLUSTER_SCOPED = [
  'core/namespaces',
  'core/nodes',
  'core/persistentvolumes',
  'apiextensions.k8s.io/customresourcedefinitions',
  'rbac.authorization.k8s.io/clusterroles',
  'rbac.authorization.k8s.io/clusterrolebindings',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations',
  'admissionregistration.k8s.io/validatingwebhookconfigurations',
  'certificates.k8s.io/certificatesigningrequests',
];

const NAMESPACE_OF: Record<Scope, string | undefined> = {
  'watched namespace': WATCHED,
  'own namespace': NS,
  'other namespace': 'default',
  'cluster-wide': undefined,
};

let kc: k8s.KubeConfig;
let manifests: k8s.KubernetesObject[];
let manifestsAll: k8s.KubernetesObject[];

beforeAll(async () => {
  kc = cluster.kubeConfig();
  const chart = new Chart(Testing.app(), 'operator');
  new CanaryOperator(chart, 'operator', {
    image: 'registry.invalid/cdk8s-mesh-operator:test',
    watchNamespace: WATCHED,
    // The harness installed the CRD from crd.yaml. Applied through client-node's typed serializer,
    // the synthesized CRD would lose its schema's x-kubernetes-* keys (preserve-unknown-fields, CEL
    // rules) and make the apiserver prune CanaryReleases for every later test in the run.
    installCrd: false,
  });
  manifests = Testing.synth(chart) as k8s.KubernetesObject[];
  const chartAll = new Chart(Testing.app(), 'operator-all');
  new CanaryOperator(chartAll, 'operator', {
    image: 'registry.invalid/cdk8s-mesh-operator:test',
    namespace: NS_ALL,
    installCrd: false,
    replicas: 1,
  });
  manifestsAll = Testing.synth(chartAll) as k8s.KubernetesObject[];
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: WATCHED } } })
    .catch(() => undefined);
  for (const obj of [...manifests, ...manifestsAll]) {
    await client.patch(obj, undefined, undefined, 'cdk8s-mesh-test', true, k8s.PatchStrategy.ServerSideApply);
  }
});

function parse(key: string): { group: string; resource: string; subresource?: string } {
  const [group, resource, subresource] = key.split('/') as [string, string, string | undefined];
  return { group: group === 'core' ? '' : group, resource, ...(subresource ? { subresource } : {}) };
}

async function allowed(
  verb: string,
  key: string,
  namespace: string | undefined,
  ns: string,
): Promise<boolean> {
  const body = {
    spec: {
      user: `system:serviceaccount:${ns}:${OPERATOR_NAME}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      resourceAttributes: { verb, ...parse(key), ...(namespace ? { namespace } : {}) },
    },
  };
  // A SubjectAccessReview only asks, so a connection the apiserver closed under load (fetch
  // failed: other side closed) is asked again, at most twice; an HTTP error is not retried.
  for (let attempt = 1; ; attempt++) {
    try {
      const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSubjectAccessReview({ body });
      return review.status?.allowed ?? false;
    } catch (e) {
      if (!(e instanceof TypeError) || attempt === 3) throw e;
    }
  }
}

describe('the operator ServiceAccount, asked of the real RBAC authorizer', () => {
  test.each<[string, string, Record<Scope, Record<string, string>>]>([
    [`watching one namespace (${WATCHED})`, NS, PERMISSIONS],
    ['watching all namespaces (a ClusterRoleBinding)', NS_ALL, PERMISSIONS_ALL_NAMESPACES],
  ])('%s: may do exactly what its table lists, in each scope, and nothing else', async (_, ns, expected) => {
    const namespaceOf: Record<Scope, string | undefined> = { ...NAMESPACE_OF, 'own namespace': ns };
    const sa = `system:serviceaccount:${ns}:${OPERATOR_NAME}`;
    const asked: { scope: Scope; key: string; verb: string }[] = [];
    for (const scope of Object.keys(expected) as Scope[]) {
      const keys = scope === 'cluster-wide' ? [...NAMESPACED, ...CLUSTER_SCOPED] : NAMESPACED;
      for (const key of keys) for (const verb of VERBS) asked.push({ scope, key, verb });
    }
    // every listed permission is among the questions, so a typo in the table cannot pass unseen
    for (const [scope, table] of Object.entries(expected) as [Scope, Record<string, string>][])
      for (const [key, verbs] of Object.entries(table))
        for (const verb of verbs.split(' '))
          expect(asked.some((a) => a.scope === scope && a.key === key && a.verb === verb)).toBe(true);

    const answers: boolean[] = [];
    for (let i = 0; i < asked.length; i += 64) {
      const batch = asked.slice(i, i + 64);
      answers.push(
        ...(await Promise.all(batch.map((a) => allowed(a.verb, a.key, namespaceOf[a.scope], ns)))),
      );
    }
    const granted: Record<Scope, Record<string, string>> = {
      'watched namespace': {},
      'own namespace': {},
      'other namespace': {},
      'cluster-wide': {},
    };
    asked.forEach((a, i) => {
      if (!answers[i]) return;
      const row = granted[a.scope];
      row[a.key] = row[a.key] ? `${row[a.key]} ${a.verb}` : a.verb;
    });
    console.log(
      `${asked.length} SubjectAccessReviews for ${sa}; allowed:\n` +
        (Object.entries(granted) as [Scope, Record<string, string>][])
          .map(
            ([scope, row]) =>
              `  ${scope} (${namespaceOf[scope] ?? 'no namespace'}):` +
              (Object.keys(row).length === 0
                ? ' nothing'
                : Object.entries(row)
                    .map(([k, v]) => `\n    ${k}: ${v}`)
                    .join('')),
          )
          .join('\n'),
    );
    // compare as sets of verbs, in the order VERBS asks them
    const normal = (t: Record<Scope, Record<string, string>>) =>
      Object.fromEntries(
        Object.entries(t).map(([scope, row]) => [
          scope,
          Object.fromEntries(
            Object.entries(row).map(([k, v]) => [k, VERBS.filter((x) => v.split(' ').includes(x)).join(' ')]),
          ),
        ]),
      );
    expect(normal(granted)).toStrictEqual(normal(expected));
  });

  test('real requests made as the ServiceAccount get what the reviews said', async () => {
    const as = new k8s.KubeConfig();
    as.loadFromFile(cluster.kubeconfigPath);
    as.users = as.users.map((u) => ({ ...u, impersonateUser: SA }));
    const custom = as.makeApiClient(k8s.CustomObjectsApi);
    const core = as.makeApiClient(k8s.CoreV1Api);
    const apps = as.makeApiClient(k8s.AppsV1Api);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e: k8s.ApiException<string>) => e.code,
      );
    expect(
      await code(
        custom.listNamespacedCustomObject({
          group: 'networking.istio.io',
          version: 'v1',
          namespace: WATCHED,
          plural: 'virtualservices',
        }),
      ),
    ).toBe(200);
    expect(await code(core.listNamespacedSecret({ namespace: WATCHED }))).toBe(403);
    expect(await code(core.listNamespacedSecret({ namespace: NS }))).toBe(403);
    expect(await code(apps.deleteNamespacedDeployment({ name: OPERATOR_NAME, namespace: NS }))).toBe(403);
    expect(
      await code(
        custom.listNamespacedCustomObject({
          group: 'networking.istio.io',
          version: 'v1',
          namespace: 'default',
          plural: 'virtualservices',
        }),
      ),
    ).toBe(403);
    expect(await code(core.listNamespace())).toBe(403);
  });
});

describe('Pod Security restricted', () => {
  test('the operator namespace enforces restricted, and the operator Pod passes server-side dry-run there', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await core.readNamespace({ name: NS });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const d = manifests.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
    const pod: k8s.V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...d.spec!.template.metadata, name: `${OPERATOR_NAME}-dry-run`, namespace: NS },
      spec: d.spec!.template.spec,
    };
    const admitted = await core.createNamespacedPod({ namespace: NS, body: pod, dryRun: 'All' }).then(
      () => 'admitted',
      (e: k8s.ApiException<string>) => `${e.code} ${e.body}`,
    );
    expect(admitted).toBe('admitted');
    // the same Pod without its security context is refused: the check above can fail
    const bare: k8s.V1Pod = {
      ...pod,
      spec: {
        ...pod.spec!,
        securityContext: {},
        containers: pod.spec!.containers.map((c) => ({ ...c, securityContext: {} })),
      },
    };
    const refused = await core.createNamespacedPod({ namespace: NS, body: bare, dryRun: 'All' }).then(
      () => 'admitted',
      (e: k8s.ApiException<string>) => `${e.code} ${(JSON.parse(e.body) as { message: string }).message}`,
    );
    expect(refused).toMatch(/^403 .*violates PodSecurity "restricted:latest"/);
  });
});

test('its Deployment becomes available on the fake nodes', async () => {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  let available = 0;
  for (let i = 0; i < 120 && available < 2; i++) {
    const d = await apps.readNamespacedDeployment({ name: OPERATOR_NAME, namespace: NS });
    available = d.status?.availableReplicas ?? 0;
    if (available < 2) await new Promise((r) => setTimeout(r, 500));
  }
  expect(available).toBe(2);
});
