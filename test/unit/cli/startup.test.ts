/**
 * What the compiled `cdk8s-mesh` loads as a whole process, per command: a file command on a mesh
 * without Gateway API objects never loads the CEL evaluator (@bufbuild/cel with
 * @bufbuild/protobuf) nor zod (the CanaryRelease schema), only `graph` loads the layout library
 * (elkjs), and the CEL evaluator comes in when an object has a field a CEL rule checks, with the
 * same finding as before. Each run records the packages Node loaded (a module hook given with
 * --import), so the test asserts what start-up pays for, not how long it took; bench/cli.bench.ts
 * measures the time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Testing, Yaml } from 'cdk8s';
import { buildScenario } from '../../../examples/bookinfo/bookinfo.js';
import { compiledCli } from '../../harness/compiled-cli.js';

const run = promisify(execFile);

/** Appends the URL of every file module Node loads (import and require alike) to $LOADED_MODULES. */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({
  load(url, context, next) {
    if (url.startsWith('file:')) appendFileSync(process.env.LOADED_MODULES, url + '\\n');
    return next(url, context);
  },
});
`)}`;

/** The packages (from node_modules) a run loaded, sorted. */
function packagesOf(urls: string): string[] {
  const names = new Set<string>();
  for (const url of urls.split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

/** Packages of the CEL evaluator and of the CanaryRelease schema. */
const CEL = ['@bufbuild/cel', '@bufbuild/protobuf'];
const ZOD = 'zod';
const ELK = 'elkjs';

describe('the compiled cdk8s-mesh loads only what a command needs', () => {
  let bin = '';
  let dir = '';
  let bookinfo = '';
  let n = 0;

  /** Runs the CLI on this Node.js; returns its exit code, output and the packages it loaded. */
  async function cli(...args: string[]) {
    const loaded = join(dir, `loaded-${n++}.txt`);
    writeFileSync(loaded, '');
    let code = 0;
    let stdout: string;
    try {
      ({ stdout } = await run(process.execPath, ['--import', HOOK, bin, ...args], {
        timeout: 60_000,
        env: { ...process.env, LOADED_MODULES: loaded, CDK8S_MESH_WARNINGS: 'off' },
      }));
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      if (typeof x.code !== 'number') throw e;
      ({ code, stdout } = x);
    }
    return { code, stdout, packages: packagesOf(readFileSync(loaded, 'utf8')) };
  }

  beforeAll(() => {
    bin = compiledCli();
    dir = mkdtempSync(join(tmpdir(), 'cli-startup-'));
    bookinfo = join(dir, 'bookinfo.yaml');
    writeFileSync(
      bookinfo,
      Yaml.stringify(...Testing.synth(buildScenario(Testing.app(), 'zero-trust').mesh)),
    );
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['lint', [] as string[]],
    ['explain', ['--from', 'productpage', '--host', 'reviews']],
    ['reachability', []],
  ])(
    '%s of Bookinfo loads neither the CEL evaluator, zod nor elkjs',
    async (command, extra) => {
      const r = await cli(command, bookinfo, ...extra);
      expect(r.code).toBe(0);
      expect(r.packages).toContain('yaml');
      for (const p of [...CEL, ZOD, ELK]) expect(r.packages).not.toContain(p);
    },
    90_000,
  );

  test('graph of Bookinfo loads elkjs, and neither the CEL evaluator nor zod', async () => {
    const out = join(dir, 'bookinfo.svg');
    const r = await cli('graph', bookinfo, '--out', out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*productpage[\s\S]*<\/svg>\n?$/);
    expect(r.packages).toContain(ELK);
    for (const p of [...CEL, ZOD]) expect(r.packages).not.toContain(p);
  }, 90_000);

  test('lint of an HTTPRoute with a field a CEL rule checks loads the evaluator and reports the rule', async () => {
    const route = join(dir, 'route.yaml');
    writeFileSync(
      route,
      [
        'apiVersion: gateway.networking.k8s.io/v1',
        'kind: HTTPRoute',
        'metadata: { name: r, namespace: default }',
        'spec:',
        '  rules:',
        '    - filters: [{ type: RequestHeaderModifier }]',
        '      backendRefs: [{ name: reviews, port: 9080 }]',
        '',
      ].join('\n'),
    );
    const r = await cli('lint', route);
    expect(r.code).toBe(79);
    expect(r.stdout).toContain(
      'spec.rules[0].filters[0]: filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type',
    );
    for (const p of CEL) expect(r.packages).toContain(p);
    expect(r.packages).not.toContain(ELK);
  }, 90_000);
});
