/**
 * `cdk8s-mesh dashboard` in headless Chromium (Debian's, driven by playwright-core) against the
 * real kube-apiserver, the real Prometheus and the traffic simulator: Bookinfo with zero trust
 * from its call graph is applied to a namespace, the simulator sends productpage → reviews traffic
 * that Prometheus scrapes, and a CanaryRelease's status is written through /status as the
 * operator writes it. The page draws the graph with the traffic on its arrow, the release's chart
 * grows with each new check, a promote click writes the annotation on the resource, and the same
 * click by a user bound to a read-only Role shows the apiserver's refusal.
 */
import * as k8s from '@kubernetes/client-node';
import { App as CdkApp, Testing } from 'cdk8s';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RESUME_ANNOTATION, type CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { startDashboard, type RunningDashboard } from '../../cli/dashboard/dashboard.js';
import { App, Mesh } from '../../constructs/index.js';
import { bookinfo, SCENARIOS } from '../../examples/bookinfo/bookinfo.js';
import { compiledCli } from '../harness/compiled-cli.js';
import { CANARY_RELEASES, KubeClient, type CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { PrometheusProvider } from '../../operator/adapters/prometheus.js';
import { addScrapeTarget, cluster, testNamespace } from '../harness/cluster.js';
import { TrafficSimulator } from '../harness/traffic/index.js';
import { canaryRelease, must } from './operator-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ASSETS = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/dashboard/assets');

/** The page's globals as the functions evaluated in Chromium use them (this project's types have no DOM). */
interface PageGlobals {
  readonly document: {
    querySelectorAll(
      selector: string,
    ): { readonly length: number } & Iterable<{ readonly textContent: string | null }>;
  };
}
const docsShots = process.env.DASHBOARD_SCREENSHOTS; // a directory: writes the docs' screenshots there

let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;
let sim: TrafficSimulator;
let removeTarget: () => void;
let admin: RunningDashboard;
let viewer: RunningDashboard;
let browser: Browser;
let dir: string;

const spec = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3', revision: '1.20.3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { setWeight: 50 }],
  promotion: { manualApproval: true },
  analysis: { interval: '5s', threshold: 2, successRate: { min: 99 }, latencyP99: { max: '500ms' } },
};

function status(t: string, s: Partial<CanaryReleaseStatus>): CanaryReleaseStatus {
  return {
    observedGeneration: 1,
    release: 'reviews/v1/v3/1.20.3',
    phase: 'Progressing',
    currentStep: 0,
    totalSteps: 2,
    canaryWeight: 10,
    stepStartedAt: t,
    consecutiveFailures: 0,
    lastCheckAt: t,
    lastCheckPassed: true,
    conditions: [],
    history: [
      {
        time: t,
        phase: 'Progressing',
        step: 0,
        canaryWeight: 10,
        reason: 'Started',
        message: 'the release starts',
      },
    ],
    ...s,
  };
}

async function writeStatus(st: CanaryReleaseStatus): Promise<void> {
  const cur = must(
    await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'reviews' }),
  );
  must(
    await client.jsonPatch(
      CANARY_RELEASES,
      { namespace: ns.name, name: 'reviews' },
      [{ op: 'add', path: '/status', value: st }],
      {
        subresource: 'status',
      },
    ),
  );
  void cur;
}

const iso = (offsetS: number) => new Date(Date.now() + offsetS * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

async function open(d: RunningDashboard): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(d.url);
  await page.waitForSelector('#graph svg [data-node]', { timeout: 30_000 });
  return page;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run provision -- chromium\``);
  process.env.CDK8S_MESH_WARNINGS = 'off';
  const kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('dashboard');
  // Bookinfo with zero trust from its call graph, in this namespace.
  const b = bookinfo(new CdkApp({ outdir: '/nonexistent' }), 'bookinfo', { namespace: ns.name });
  SCENARIOS['zero-trust-call-graph'].build(b);
  const objects = Testing.synth(b.mesh).filter((o) => o.kind !== 'Namespace') as k8s.KubernetesObject[];
  const objectApi = k8s.KubernetesObjectApi.makeApiClient(kc);
  // The namespace exists already: give it the injection label Bookinfo's Namespace object carries.
  await objectApi.patch(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns.name, labels: { 'istio-injection': 'enabled' } },
    },
    undefined,
    undefined,
    undefined,
    undefined,
    k8s.PatchStrategy.MergePatch,
  );
  for (const o of objects) await objectApi.create(o);
  must(await client.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, 'reviews', spec)));
  await writeStatus(
    status(iso(-10), {
      successRate: 99.8,
      lastMeasurements: [{ name: 'request-duration-p99', result: 'Pass', value: 40 }],
    }),
  );

  // A user who may read everything in the namespace and change nothing.
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: ns.name,
    body: {
      metadata: { name: 'read-only' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: 'viewer-read-only' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-only' },
      subjects: [{ kind: 'User', name: 'viewer', apiGroup: 'rbac.authorization.k8s.io' }],
    },
  });
  const viewerKc = new k8s.KubeConfig();
  viewerKc.loadFromOptions({
    clusters: kc.clusters,
    users: [{ ...kc.getCurrentUser()!, name: 'viewer', impersonateUser: 'viewer' }],
    contexts: [{ name: 'viewer', cluster: kc.getCurrentCluster()!.name, user: 'viewer', namespace: ns.name }],
    currentContext: 'viewer',
  });

  sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: ns.name,
    seed: 18,
    refreshMs: 200,
    source: { app: 'productpage', version: 'v1', serviceAccount: 'bookinfo-productpage' },
    services: [
      { name: 'reviews', versions: [{ version: 'v1', latencyMs: 3 }, { version: 'v2' }, { version: 'v3' }] },
    ],
  });
  removeTarget = addScrapeTarget(`dashboard-${ns.name}`, sim.metricsAddress, { sim: ns.name });
  dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
  writeFileSync(join(dir, 'unused'), '');
  admin = await startDashboard({
    kubeConfig: kc,
    namespaces: [ns.name],
    prometheusUrl: cluster.prometheusUrl,
    trafficIntervalMs: 1000,
  });
  viewer = await startDashboard({ kubeConfig: viewerKc, namespaces: [ns.name] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await viewer?.close();
  removeTarget?.();
  await sim?.stop();
  await ns?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboard in Chromium', () => {
  test('the Bookinfo graph, with live traffic on the productpage → reviews arrow', async () => {
    const page = await open(admin);
    for (const n of ['productpage', 'reviews', 'ratings', 'details'])
      await page.waitForSelector(`#graph [data-node="${ns.name}/${n}"]`);
    // Traffic for about 12 s, so Prometheus (1–5 s scrapes) has a rate over the last minute.
    const load = sim.runLoad({ host: 'reviews', rps: 20, requests: 240, concurrency: 4 });
    // In the page: the first arrow line that shows a rate.
    const edge = await page
      .waitForFunction(
        () => {
          for (const t of (globalThis as unknown as PageGlobals).document.querySelectorAll(
            '[data-edge-line]',
          ))
            if (/rps/.test(t.textContent ?? '')) return t.textContent;
          return false;
        },
        undefined,
        { timeout: 40_000, polling: 250 },
      )
      .catch((e: Error) => {
        const st = admin.state();
        throw new Error(
          `${e.message}\ntraffic: ${JSON.stringify(st.traffic)}\nproblems: ${JSON.stringify(st.problems)}\nedges: ${JSON.stringify(st.snapshot?.edges)}`,
        );
      });
    await load;
    const text = (await edge.jsonValue()) as string;
    expect(text).toMatch(/^\d+\.\d\d rps · \d+\.\d% 5xx · p99 \d+ ms$/);
    expect(Number(text.split(' ')[0])).toBeGreaterThan(0);
    const state = admin.state();
    const edgeInfo = state.snapshot!.edges.find(
      (e) => e.from === `${ns.name}/productpage` && e.to === `${ns.name}/reviews`,
    )!;
    expect(edgeInfo.label).toBe('GET · mTLS');
    expect(state.traffic![`${ns.name}/productpage -> ${ns.name}/reviews`]!.rps).toBeGreaterThan(0);
    if (docsShots) await page.locator('#mesh').screenshot({ path: join(docsShots, 'dashboard-graph.png') });
    // A click on a box opens its routes, policies and findings.
    await page.click(`#graph [data-node="${ns.name}/reviews"]`);
    await page.waitForSelector('#detail:not([hidden])');
    const summaries = await page.locator('#detail summary').allTextContents();
    expect(summaries).toContain(`AuthorizationPolicy ${ns.name}/reviews-viewer`);
    expect(summaries).toContain(`AuthorizationPolicy ${ns.name}/allow-nothing`);
    expect(summaries).toContain(`PeerAuthentication ${ns.name}/default`);
    expect(summaries.some((s: string) => s.startsWith('DestinationRule '))).toBe(true);
    await page.close();
  }, 90_000);

  test("a release's chart grows with each check, and a promote click writes the resume annotation", async () => {
    const page = await open(admin);
    const release = page.locator(`[data-release="${ns.name}/reviews"]`);
    await release.waitFor();
    const points = () => release.locator('svg.chart circle').count();
    const before = await points();
    const grown = (n: number) =>
      page.waitForFunction(
        ([sel, count]: readonly [string, number]) =>
          (globalThis as unknown as PageGlobals).document.querySelectorAll(`${sel} svg.chart circle`)
            .length >= count,
        [`[data-release="${ns.name}/reviews"]`, n] as const,
        { timeout: 20_000 },
      );
    // Two checks, each drawn as a point of the success rate and one of the p99.
    await writeStatus(
      status(iso(-5), {
        successRate: 99.5,
        lastMeasurements: [{ name: 'request-duration-p99', result: 'Pass', value: 55 }],
      }),
    );
    await grown(before + 2);
    await writeStatus(
      status(iso(0), {
        phase: 'Paused',
        currentStep: 2,
        canaryWeight: 50,
        successRate: 99.9,
        lastMeasurements: [{ name: 'request-duration-p99', result: 'Pass', value: 48 }],
      }),
    );
    await grown(before + 4);
    expect(
      admin
        .state()
        .series[`${ns.name}/reviews`]!.filter((p) => p.source === 'check')
        .map((p) => p.successRate),
    ).toEqual([99.8, 99.5, 99.9]);
    await release.locator('[data-field="phase"]', { hasText: 'Paused' }).waitFor();
    expect(await release.locator('[data-field="weights"]').textContent()).toBe('v1 50% · v3 50%');
    await release.locator('button[data-action="promote"]').click();
    const message = release.locator('[data-field="action-message"]');
    await message.filter({ hasText: 'approved the promotion' }).waitFor({ timeout: 20_000 });
    const obj = must(
      await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'reviews' }),
    );
    expect(obj.metadata.annotations?.[RESUME_ANNOTATION]).toBe('1/2');
    if (docsShots)
      await page.locator('#releases-section').screenshot({ path: join(docsShots, 'dashboard-release.png') });
    await page.close();
  }, 60_000);

  test("a page opened after traffic flowed shows the release's past from Prometheus at once, then appends checks", async () => {
    // Traffic to reviews (all three versions: no route picks one) before any dashboard reads it.
    await writeStatus(status(iso(-1), { successRate: 99.7 }));
    const started = Date.now();
    // 16 s of it: the past is read one point per 5 s analysis interval, and a point has a rate only
    // while traffic flowed within its window, so 8 s gave 1-2 points on a quiet machine.
    const load = sim.runLoad({ host: 'reviews', rps: 20, requests: 320, concurrency: 4 });
    // Prometheus has the canary's rate while the load runs (the operator's query, 5 s window).
    const prometheus = new PrometheusProvider({ url: cluster.prometheusUrl });
    const canary = { namespace: ns.name, workload: 'reviews-v3', interval: '5s' };
    const deadline = Date.now() + 20_000;
    let seen = await prometheus.builtin('request-success-rate', canary);
    while (!seen.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      seen = await prometheus.builtin('request-success-rate', canary);
    }
    expect(seen).toEqual({ ok: true, value: 100 });
    await load;
    const late = await startDashboard({
      kubeConfig: cluster.kubeConfig(),
      namespaces: [ns.name],
      prometheusUrl: cluster.prometheusUrl,
      trafficIntervalMs: 60_000,
    });
    try {
      const page = await open(late);
      const release = page.locator(`[data-release="${ns.name}/reviews"]`);
      await release.waitFor();
      const hollow = release.locator('svg.chart circle[data-source="prometheus"]');
      await page.waitForFunction(
        (sel: string) => (globalThis as unknown as PageGlobals).document.querySelectorAll(sel).length >= 4,
        `[data-release="${ns.name}/reviews"] svg.chart circle[data-source="prometheus"]`,
        { timeout: 15_000 },
      );
      const series = late.state().series[`${ns.name}/reviews`]!;
      const past = series.filter((p) => p.source === 'prometheus');
      // The status was not written since: the points are the past, read from Prometheus.
      expect(series.filter((p) => p.source === 'check').map((p) => p.successRate)).toEqual([99.7]);
      expect(past.length).toBeGreaterThanOrEqual(2);
      expect(await hollow.count()).toBe(
        past.filter((p) => p.successRate !== undefined).length +
          past.filter((p) => p.p99Ms !== undefined).length,
      );
      for (const p of past) {
        expect(Date.parse(p.t)).toBeGreaterThanOrEqual(started - 1000);
        expect(p.canaryWeight).toBe(10);
      }
      expect(past.filter((p) => p.successRate !== undefined).map((p) => p.successRate)).toEqual(
        past.filter((p) => p.successRate !== undefined).map(() => 100),
      );
      expect(past.some((p) => p.p99Ms !== undefined && Number.isFinite(p.p99Ms))).toBe(true);
      // Live checks go on after the past.
      const checkAt = iso(1);
      await writeStatus(status(checkAt, { successRate: 99.6 }));
      // One filled dot per check (these checks carry a success rate only).
      await release.locator('svg.chart circle[data-source="check"]').nth(1).waitFor({ timeout: 20_000 });
      const after = late.state().series[`${ns.name}/reviews`]!;
      expect(after.at(-1)).toMatchObject({ t: checkAt, successRate: 99.6, source: 'check' });
      await page.close();
    } finally {
      await late.close();
    }
  }, 60_000);

  test("a user bound to a read-only Role sees the release, and the apiserver's refusal when they click abort", async () => {
    const page = await open(viewer);
    const release = page.locator(`[data-release="${ns.name}/reviews"]`);
    await release.waitFor();
    await release.locator('button[data-action="abort"]').click();
    const message = release.locator('[data-field="action-message"].error');
    await message.waitFor({ timeout: 20_000 });
    const text = (await message.textContent())!;
    expect(text).toMatch(/^403: /);
    expect(text).toContain('User "viewer" cannot patch resource "canaryreleases"');
    expect(text).toContain(`in the namespace "${ns.name}"`);
    const obj = must(
      await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'reviews' }),
    );
    expect(obj.metadata.annotations?.['delivery.cdk8s-mesh.io/abort']).toBeUndefined();
    // Namespaces are cluster-wide: the read-only user cannot watch them, and the page says so.
    expect(Object.keys(viewer.state().problems)).toContain('watch Namespace');
    await page.close();
  }, 60_000);

  test('explain answers from the live objects: productpage may GET reviews, ratings may not', async () => {
    const page = await open(admin);
    const ask = async (from: string) => {
      await page.fill('#explain input[name="from"]', from);
      await page.fill('#explain input[name="host"]', 'reviews');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/explain')),
        page.click('#explain button[type="submit"]'),
      ]);
      const body = (await res.json()) as { message: string; result?: { result: string } };
      await page
        .locator('#explain-answer', { hasText: body.message.split('\n')[0]! })
        .waitFor({ timeout: 10_000 });
      return body;
    };
    const allowed = await ask('productpage');
    expect(allowed.result?.result).toBe('delivered');
    const denied = await ask('ratings');
    expect(denied.message).toContain('RBAC');
    expect(denied.result?.result).toBe('denied');
    await page.close();
  }, 30_000);

  test('several namespaces at once: the compiled command (-n a,b) serves its own page and assets over loopback, with both meshes and their releases', async () => {
    // A second namespace with a mesh of its own and a release.
    const other = await testNamespace('dashboard-b');
    let child: ChildProcess | undefined;
    try {
      const app = new CdkApp({ outdir: '/nonexistent' });
      const mesh = new Mesh(app, 'shop', { namespace: other.name });
      const web = new App(mesh, 'web', { image: 'example.com/web:{version}', port: 8080 });
      const cart = new App(mesh, 'cart', {
        image: 'example.com/cart:{version}',
        port: 8080,
        versions: ['v1', 'v2'],
      });
      web.calls(cart, { methods: ['GET'] });
      const objectApi = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
      for (const o of Testing.synth(mesh).filter((x) => x.kind !== 'Namespace') as k8s.KubernetesObject[])
        await objectApi.create(o);
      must(
        await client.create(
          CANARY_RELEASES,
          other.name,
          canaryRelease(other.name, 'cart', {
            ...spec,
            service: 'cart',
            stable: { subset: 'v1' },
            canary: { subset: 'v2', revision: '2' },
            virtualService: { name: 'cart', route: 'primary' },
          }),
        ),
      );

      const bin = compiledCli();
      child = spawn(
        process.execPath,
        [
          bin,
          'dashboard',
          '-n',
          `${ns.name},${other.name}`,
          '--kubeconfig',
          cluster.kubeconfigPath,
          '--port',
          '0',
        ],
        { env: { ...process.env, CDK8S_MESH_WARNINGS: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!/: (http:\/\/127\.0\.0\.1:\d+)\n/.test(out) && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const url = /: (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out)?.[1];
      if (!url)
        throw new Error(`the dashboard did not say where it listens (exit ${child.exitCode}):\n${out}`);
      expect(out.split('\n')[0]).toBe(
        `dashboard of ${ns.name}, ${other.name} on ${cluster.kubeConfig().getCurrentCluster()!.server}: ${url}`,
      );

      // The page and its assets come from the compiled package itself, byte for byte the sources'.
      for (const [path, file, type] of [
        ['/', 'index.html', 'text/html'],
        ['/app.js', 'app.js', 'text/javascript'],
        ['/style.css', 'style.css', 'text/css'],
      ] as const) {
        const res = await fetch(`${url}${path}`);
        expect([path, res.status, res.headers.get('content-type')?.split(';')[0]]).toEqual([path, 200, type]);
        expect(await res.text()).toBe(readFileSync(join(ASSETS, file), 'utf8'));
      }

      const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      await page.goto(url);
      for (const node of [
        `${ns.name}/reviews`,
        `${ns.name}/productpage`,
        `${other.name}/web`,
        `${other.name}/cart`,
      ])
        await page.waitForSelector(`#graph [data-node="${node}"]`, { timeout: 30_000 });
      const releases = await page
        .locator('[data-release]')
        .evaluateAll((els) =>
          els.map((e) =>
            (e as unknown as { getAttribute(n: string): string | null }).getAttribute('data-release'),
          ),
        );
      expect(releases).toEqual([`${ns.name}/reviews`, `${other.name}/cart`].sort());
      // The arrow web → cart of the second namespace is drawn with its policy.
      expect(await page.locator('#graph svg').textContent()).toContain(`mesh: ${ns.name}, ${other.name}`);
      await page.close();
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await other.dispose();
    }
  }, 180_000);

  test("a conflict: another writer changes the release between the page's read and the click; the page shows the apiserver's 409 and what to do, and nothing is written", async () => {
    const page = await open(admin);
    const release = page.locator(`[data-release="${ns.name}/reviews"]`);
    await release.waitFor();
    const ref = { namespace: ns.name, name: 'reviews' };
    const shown = must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, ref)).metadata.resourceVersion;
    // The page shows that version (its watch delivered it) when the click comes.
    await page.waitForSelector(`[data-release="${ns.name}/reviews"][data-resource-version="${shown}"]`, {
      timeout: 15_000,
    });
    // Another writer, after the page's read and before the click's request reaches the dashboard.
    const sent: unknown[] = [];
    await page.route('**/api/releases/**', async (route) => {
      sent.push(route.request().postDataJSON());
      must(
        await client.mergePatch(CANARY_RELEASES, ref, {
          metadata: { labels: { 'changed-by': 'someone-else' } },
        }),
      );
      await route.continue();
    });
    await release.locator('button[data-action="abort"]').click();
    const message = release.locator('[data-field="action-message"].error');
    await message.waitFor({ timeout: 20_000 });
    const text = (await message.textContent())!;
    expect(sent).toEqual([{ resourceVersion: shown }]);
    expect(text).toMatch(/^409: /);
    expect(text).toContain(
      `CanaryRelease ${ns.name}/reviews changed after it was shown (shown at resourceVersion ${shown}, now `,
    );
    expect(text).toContain('HTTP 409');
    expect(text).toContain('the object has been modified');
    expect(text).toContain(
      'Nothing was written: look at the release as it is now and abort again if it still applies',
    );
    const after = must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, ref));
    expect((after.metadata as { labels?: Record<string, string> }).labels?.['changed-by']).toBe(
      'someone-else',
    );
    expect(after.metadata.annotations?.['delivery.cdk8s-mesh.io/abort']).toBeUndefined();
    // Clicked again on the release as it is now, it is written.
    await page.unroute('**/api/releases/**');
    await page.waitForSelector(
      `[data-release="${ns.name}/reviews"][data-resource-version="${after.metadata.resourceVersion}"]`,
      { timeout: 15_000 },
    );
    await release.locator('button[data-action="abort"]').click();
    await release
      .locator('[data-field="action-message"]', { hasText: 'requested the abort' })
      .waitFor({ timeout: 20_000 });
    expect(
      must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, ref)).metadata.annotations?.[
        'delivery.cdk8s-mesh.io/abort'
      ],
    ).toBe(String(after.metadata.generation));
    await page.close();
  }, 60_000);
});
