/**
 * The README is the front door: its rule table matches the validator's rules, its metrics table
 * the operator's metrics, and the test command it gives is the one CI runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES } from '../../mesh/validator/rules/index.js';
import { OperatorMetrics } from '../../operator/runtime/metrics.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README lists every validator rule with its severity, mirrored codes and title', () => {
  const rows = new Map(
    [...readme.matchAll(/^\|\s*`(MESH\d+)`\s*\|\s*(\w+)\s*\|([^|]+)\|([^|]+)\|$/gm)].map((m) => [
      m[1],
      { severity: m[2], mirrors: m[3]!.trim(), title: m[4]!.trim() },
    ]),
  );
  expect(RULES.length).toBeGreaterThanOrEqual(25);
  expect([...rows.keys()].sort()).toEqual(RULES.map((r) => r.code).sort());
  for (const r of RULES) {
    expect(rows.get(r.code)).toEqual({
      severity: r.severity,
      mirrors: r.mirrors.length ? r.mirrors.join(', ') : '–',
      title: r.title,
    });
  }
});

test("the README lists every metric of the operator's /metrics page", async () => {
  const section = /read the operator's own metrics on `\/metrics`:\n\n((?:\|.*\n)+)/.exec(readme)?.[1] ?? '';
  const listed = [...section.matchAll(/`(\w+)(?:\{[\w,]+\})?`/g)].map((m) => `canary_operator_${m[1]}`);
  const registered = (await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
  expect(registered.length).toBeGreaterThan(10);
  expect([...new Set(listed)].sort()).toEqual([...registered].sort());
});

test('CI runs the test command the README gives', () => {
  expect(readme).toContain('npm test ');
  expect(readFileSync(join(root, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
});

test('the short example runs as written and yields the policy its comment promises', () => {
  const snippet = /## A short example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(snippet).toContain("new ZeroTrustPolicy(mesh, 'zero-trust')");
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  try {
    // Written next to the README so that its `./constructs/index.js` import resolves.
    const file = join(root, `.readme-example-${process.pid}.mts`);
    writeFileSync(file, snippet!);
    try {
      execFileSync(join(root, 'node_modules/.bin/tsx'), [file], {
        cwd: root,
        env: { ...process.env, CDK8S_OUTDIR: dir, CDK8S_MESH_WARNINGS: 'off' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } finally {
      rmSync(file, { force: true });
    }
    const out = readFileSync(join(dir, 'bookinfo.k8s.yaml'), 'utf8');
    expect(out).toMatch(
      /name: reviews-viewer[\s\S]*principals:\n\s+- cluster\.local\/ns\/default\/sa\/productpage[\s\S]*- GET/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
