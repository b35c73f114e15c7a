/**
 * `cdk8s-mesh lint --kubeconfig` and `cdk8s-mesh explain --kubeconfig` read the mesh from the real apiserver
 * (with the Istio CRDs), and the lint agrees with the real `istioctl analyze` on the rules both have.
 */
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT, run } from '../../cli/main.js';
import { cluster, runTool, testNamespace } from '../harness/cluster.js';
import { baseMesh, gw, vs } from '../unit/validator/fixtures.js';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const inNs = (o: k8s.KubernetesObject, ns: string) => ({ ...o, metadata: { ...o.metadata, namespace: ns } });
const bad = vs('reviews', {
  hosts: ['reviews'],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }],
});

describe('cli lint --kubeconfig against the real apiserver', () => {
  let ns: { name: string; dispose: () => Promise<void> };
  beforeAll(async () => {
    ns = await testNamespace('lint');
    const client = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    for (const o of [...baseMesh().filter((x) => x.kind !== 'Namespace'), bad]) {
      await client.create(inNs(o as k8s.KubernetesObject, ns.name));
    }
  });
  afterAll(async () => ns.dispose());

  test('fails with exit 79 on the VirtualService in the cluster, located as cluster:Kind/ns/name', async () => {
    const r = await cli(
      'lint',
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--namespace',
      ns.name,
      '--output',
      'json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.findings);
    const j = JSON.parse(r.out) as { findings: { code: string; where: string; message: string }[] };
    const f = j.findings.filter((x) => x.code === 'MESH102');
    expect(f).toHaveLength(1);
    expect(f[0]!.where).toMatch(new RegExp(`^[\\w.-]+:VirtualService/${ns.name}/reviews$`));
    expect(f[0]!.message).toBe(
      `http[0].route[0]: subset v9 of reviews is not defined in DestinationRule ${ns.name}/reviews (subsets: v1, v2)`,
    );
    // Besides: the test namespace has no injection label (IST0102's info), as istioctl would say,
    // and the reviews workloads the VirtualService routes to would run without a sidecar (MESH802).
    expect(
      j.findings
        .filter((x) => x.where.includes(`/${ns.name}/`) && x.code !== 'MESH102')
        .map((x) => `${x.code} ${x.where.split(':').at(-1)}`),
    ).toEqual([
      `MESH802 Deployment/${ns.name}/reviews-v1`,
      `MESH802 Deployment/${ns.name}/reviews-v2`,
      `MESH801 Namespace/${ns.name}/${ns.name}`,
    ]);
  });

  test('explain reads the same objects: the workloads the apiserver stores', async () => {
    const r = await cli(
      'explain',
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--namespace',
      ns.name,
      '--from',
      `${ns.name}/productpage`,
      '--host',
      'ratings',
      '--output',
      'json',
    );
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toMatchObject({
      host: `ratings.${ns.name}.svc.cluster.local`,
      destinations: [{ workloads: ['ratings-v1'], probability: 1 }],
    });
  });

  test('fails with exit 1 if the cluster cannot be reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    const kc = join(dir, 'kubeconfig');
    writeFileSync(
      kc,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: {} }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const r = await cli('lint', '--kubeconfig', kc);
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toMatch(
      /^cdk8s-mesh lint: reading Namespaces: cannot reach the apiserver at https:\/\/127\.0\.0\.1:1 \(.*(ECONNREFUSED|fetch failed).*\); check that the cluster is up/m,
    );
  });
});

describe('agreement with the real istioctl analyze (overlapping rules)', () => {
  // Our code → the istioctl code it mirrors, on fixtures both tools read from the same file.
  const fixtures: [ours: string, theirs: string, objects: object[]][] = [
    [
      'MESH103',
      'IST0101',
      [
        vs('r', {
          hosts: ['*'],
          gateways: ['nope'],
          http: [{ route: [{ destination: { host: 'productpage' } }] }],
        }),
      ],
    ],
    [
      'MESH105',
      'IST0130',
      [
        vs('reviews', {
          hosts: ['reviews'],
          http: [
            { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
            { route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
          ],
        }),
      ],
    ],
    [
      'MESH104',
      'IST0132',
      [
        gw('g', {
          selector: { istio: 'ingressgateway' },
          servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a.example.com'] }],
        }),
        vs('r', {
          hosts: ['b.example.com'],
          gateways: ['g'],
          http: [{ route: [{ destination: { host: 'productpage' } }] }],
        }),
      ],
    ],
  ];

  test.each(fixtures)(
    '%s is reported where istioctl reports %s, and the clean base by neither',
    async (ours, theirs, objects) => {
      const dir = mkdtempSync(join(tmpdir(), 'agree-'));
      try {
        const clean = join(dir, 'clean.yaml');
        writeFileSync(
          clean,
          baseMesh()
            .map((o) => stringify(o))
            .join('---\n'),
        );
        const withIssue = join(dir, 'issue.yaml');
        writeFileSync(withIssue, [...baseMesh(), ...objects].map((o) => stringify(o)).join('---\n'));
        const istioctl = (f: string) => runTool('istioctl', ['analyze', '--use-kube=false', '-o', 'json', f]);
        const codes = (stdout: string) =>
          (JSON.parse(stdout || '[]') as { code: string }[]).map((m) => m.code);
        const theirsIssue = await istioctl(withIssue);
        expect(codes(theirsIssue.stdout)).toContain(theirs);
        const oursIssue = JSON.parse((await cli('lint', withIssue, '-o', 'json')).out) as {
          findings: { code: string }[];
        };
        expect(oursIssue.findings.map((f) => f.code)).toContain(ours);
        const theirsClean = await istioctl(clean);
        expect(codes(theirsClean.stdout)).not.toContain(theirs);
        const oursClean = JSON.parse((await cli('lint', clean, '-o', 'json')).out) as {
          findings: { code: string }[];
        };
        expect(oursClean.findings.map((f) => f.code)).not.toContain(ours);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
