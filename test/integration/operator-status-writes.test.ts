/**
 * Requests counted on the apiserver side: a release that holds on missing data is checked every
 * interval, and the apiserver sees its status written once (the first check) and then not again
 * while nothing changes (no MODIFIED watch event, the same resourceVersion), and no read either:
 * the release, its VirtualService and its Deployments come from the informers' caches (the audit
 * log shows no GET in the namespace while it is checked). The same holds for a release driving an
 * HTTPRoute next to it: the route comes from its informer's cache too.
 */
import * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  DESTINATION_RULES,
  HTTP_ROUTES,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger } from '../../operator/runtime/log.js';
import { auditEntries, auditMark, countByVerb } from '../harness/audit.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import {
  canaryRelease,
  deployment,
  must,
  SOLE_LEASE,
  sleep,
  subsetRule,
  userVirtualService,
  waitFor,
} from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: KubeClient;
let operator: OperatorHandle | undefined;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('status-writes');
});

afterAll(async () => {
  await operator?.stop();
  await ns.dispose();
});

async function analysisQueries(h: OperatorHandle): Promise<number> {
  return (await h.metrics.analyses.get()).values.reduce((n, v) => n + v.value, 0);
}

test('a release holding on missing data is checked every interval, written once and read from the caches', async () => {
  for (const v of ['v1', 'v2'])
    must(
      await client.create(
        DEPLOYMENTS,
        ns.name,
        deployment(ns.name, `quiet-${v}`, { app: 'quiet', version: v }),
      ),
    );
  must(await client.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, 'quiet', ['v1', 'v2'])));
  must(await client.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, 'quiet', 'v1')));
  must(
    await client.create(HTTP_ROUTES, ns.name, {
      apiVersion: `${HTTP_ROUTES.group}/${HTTP_ROUTES.version}`,
      kind: 'HTTPRoute',
      metadata: { name: 'quiet-http', namespace: ns.name },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'quiet', port: 9080 }],
        rules: [
          {
            name: 'primary',
            backendRefs: [
              { name: 'quiet-v1', port: 9080, weight: 100 },
              { name: 'quiet-v2', port: 9080, weight: 0 },
            ],
          },
        ],
      },
    }),
  );
  operator = await startOperator({
    kubeConfig: kc,
    prometheusUrl: cluster.prometheusUrl,
    prometheusTimeoutMs: 3000,
    namespace: ns.name,
    identity: 'status-writes',
    leaderElection: {
      namespace: ns.name,
      name: 'canary-operator',
      ...SOLE_LEASE,
    },
    logger: createLogger({ level: 'error', sink: () => undefined }),
  });
  must(
    await client.create(
      CANARY_RELEASES,
      ns.name,
      canaryRelease(ns.name, 'quiet-v2', {
        service: 'quiet',
        stable: { subset: 'v1', deployment: 'quiet-v1' },
        canary: { subset: 'v2', deployment: 'quiet-v2' },
        virtualService: { name: 'quiet', route: 'primary' },
        steps: [{ setWeight: 10 }, { setWeight: 50 }],
        analysis: { interval: '1s', successRate: { min: 99 }, missingData: { policy: 'Hold' } },
      }),
    ),
  );
  must(
    await client.create(
      CANARY_RELEASES,
      ns.name,
      canaryRelease(ns.name, 'quiet-http-v2', {
        service: 'quiet',
        stable: { subset: 'v1' },
        canary: { subset: 'v2' },
        httpRoute: { name: 'quiet-http', rule: 'primary' },
        steps: [{ setWeight: 10 }, { setWeight: 50 }],
        analysis: { interval: '1s', successRate: { min: 99 }, missingData: { policy: 'Hold' } },
      }),
    ),
  );
  const ref = { namespace: ns.name, name: 'quiet-v2' };
  const heldAtFirstCheck = async (name: string) => {
    let seen: unknown;
    return waitFor(`${name}'s first check to find no data`, async () => {
      const o = must(await client.get(CANARY_RELEASES, { namespace: ns.name, name })) as CanaryReleaseObject;
      seen = o.status;
      const st = o.status as CanaryReleaseStatus | undefined;
      return st?.missingDataSince && st.lastCheckAt ? o : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; status: ${JSON.stringify(seen)}`);
    });
  };
  const held = await heldAtFirstCheck('quiet-v2');
  const heldHttp = await heldAtFirstCheck('quiet-http-v2');
  const rv = held.metadata.resourceVersion!;

  const modified: string[] = [];
  const watch = await new k8s.Watch(kc).watch(
    `/apis/${CANARY_RELEASES.group}/${CANARY_RELEASES.version}/namespaces/${ns.name}/${CANARY_RELEASES.plural}`,
    { fieldSelector: 'metadata.name=quiet-v2', resourceVersion: rv },
    (type: string, obj: CanaryReleaseObject) => {
      if (type === 'MODIFIED') modified.push(obj.metadata.resourceVersion ?? '');
    },
    () => undefined,
  );
  const queriesBefore = await analysisQueries(operator);
  const mark = auditMark();
  await sleep(5_500);
  const queries = (await analysisQueries(operator)) - queriesBefore;
  const requests = countByVerb(auditEntries(mark, { namespace: ns.name }));
  watch.abort();

  const after = must(await client.get(CANARY_RELEASES, ref)) as CanaryReleaseObject;
  // Checked on every interval (one query each; a little slack for a loaded machine)...
  expect(queries).toBeGreaterThanOrEqual(4);
  // ...and nothing written: the apiserver sent no MODIFIED event and kept the resourceVersion.
  expect(modified).toStrictEqual([]);
  // ...and nothing read one object at a time: every check read the informers' caches.
  expect(requests).toStrictEqual({});
  expect(after.metadata.resourceVersion).toBe(rv);
  expect(after.status).toStrictEqual(held.status);
  expect((after.status as CanaryReleaseStatus).phase).toBe('Progressing');
  const afterHttp = must(
    await client.get(CANARY_RELEASES, { namespace: ns.name, name: 'quiet-http-v2' }),
  ) as CanaryReleaseObject;
  expect(afterHttp.metadata.resourceVersion).toBe(heldHttp.metadata.resourceVersion);
  expect((afterHttp.status as CanaryReleaseStatus).phase).toBe('Progressing');
});
