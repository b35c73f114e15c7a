/**
 * The package as a cdk8s user gets it: `npm pack`, then the tarball installed into fresh projects
 * in a temp dir, and used there with the project's own tools and the machine's Node.js (never
 * this repository's pinned one):
 *
 * - a project made from the `typescript-app` template that cdk8s-cli ships, as `cdk8s init`
 *   writes it (CommonJS, ts-node, ts-jest, cdk8s-plus-33 beside this package's cdk8s-plus-28);
 *   the template's post-install hook runs `cdk8s import k8s`, which needs the network, so it is
 *   not run (nothing here uses the imported k8s types);
 * - an ES module project run with tsx.
 *
 * In each: type-check with the project's own tsconfig, `cdk8s synth` a small mesh, `npx
 * cdk8s-mesh lint dist/` (clean, then a broken file), and a Jest test using `cdk8s-mesh/testing`.
 * Network: the npm registry only (npm's cache makes later runs local).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const versionOf = (pkg: string): string =>
  (JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version;

/** The environment of a user's shell: this repository's node_modules/.bin (and its Node) not on PATH. */
const userEnv: NodeJS.ProcessEnv = (() => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('npm_') || k === 'INIT_CWD' || k === 'NODE_OPTIONS') delete env[k];
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter);
  env.CDK8S_CHECK_UPGRADE = 'false';
  return env;
})();

interface Run {
  readonly status: number | null;
  readonly out: string;
}

/** Runs a command as the user would in `cwd`; bounded in time; output kept for the assertion message. */
function run(cwd: string, cmd: string, args: readonly string[], timeoutMs = 300_000): Run {
  const r = spawnSync(cmd, args, { cwd, env: userEnv, encoding: 'utf8', timeout: timeoutMs });
  return {
    status: r.status,
    out: `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
  };
}

/** Asserts a command exited with `code`; on a mismatch the message shows the command and its output. */
function expectExit(r: Run, code: number): void {
  expect(`exit ${r.status}\n${r.out}`).toMatch(new RegExp(`^exit ${code}\\n`));
}

const MAIN = `import { App as CdkApp } from 'cdk8s';
import { App, Mesh, ZeroTrustPolicy } from 'cdk8s-mesh';

export function build(app: CdkApp): Mesh {
  const mesh = new Mesh(app, 'shop', { namespace: 'shop' });
  const web = new App(mesh, 'web', { image: 'example.com/web:{version}', port: 8080 });
  const cart = new App(mesh, 'cart', { image: 'example.com/cart:{version}', port: 8080, versions: ['v1', 'v2'] });
  cart.addRoute({ match: [{ headers: { 'end-user': { exact: 'jason' } } }], to: [{ subset: 'v2' }] });
  cart.addRoute({ to: [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }] });
  new ZeroTrustPolicy(mesh, 'zero-trust');
  web.calls(cart, { methods: ['GET'] });
  return mesh;
}
`;

const TEST = (importOf: (m: string) => string) => `${importOf('cdk8s')}
${importOf('cdk8s-mesh/testing')}
${importOf('./mesh')}

expect.extend(meshMatchers);

test('the mesh routes and authorizes as declared', () => {
  const mesh = build(Testing.app());
  expect(mesh).toRoute({ from: 'web', host: 'cart', headers: { 'end-user': 'jason' } }, to('cart', 'v2'));
  expect(mesh).toRoute({ from: 'web', host: 'cart' }, to('cart', 'v1', 90), to('cart', 'v2', 10));
  expect(mesh).toAllow({ from: 'web', host: 'cart', method: 'GET' });
  expect(mesh).toDeny({ from: 'web', host: 'cart', method: 'DELETE' });
});
`;

/** A VirtualService sending to a subset no DestinationRule defines: lint must find it. */
const BROKEN = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: cart, namespace: shop }
spec:
  hosts: [cart]
  http:
    - route:
        - destination: { host: cart, subset: v9 }
`;

let work: string;
let tarball: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cdk8s-mesh-consumer-'));
  // The package as it ships: built now, packed without running the build a second time.
  const build = spawnSync('npm', ['run', 'build'], { cwd: repo, encoding: 'utf8', timeout: 600_000 });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('holds the compiled package and no tests, benchmarks, fixtures or sources', () => {
    const r = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    const files = r.stdout.split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/lib/constructs/index.js',
        'package/lib/constructs/index.d.ts',
        'package/lib/cjs/constructs/index.js',
        'package/lib/cjs/package.json',
        'package/lib/cli/bin.js',
        'package/lib/mesh/explain/matchers.d.ts',
        // The dashboard's page, read by lib/cli/dashboard/server.js from beside it.
        'package/lib/cli/dashboard/assets/index.html',
        'package/lib/cli/dashboard/assets/app.js',
        'package/lib/cli/dashboard/assets/style.css',
      ]),
    );
    expect(
      files.filter(
        (f) => /^package\/(test|bench|examples)\/|\.test\.|fixtures|\.ts$/.test(f) && !f.endsWith('.d.ts'),
      ),
    ).toEqual([]);
  });
});

describe('a project made from the cdk8s typescript-app template (CommonJS, ts-node, ts-jest)', () => {
  let dir: string;

  beforeAll(() => {
    dir = join(work, 'template-app');
    const template = join(repo, 'node_modules/cdk8s-cli/templates/typescript-app');
    const values: Record<string, string> = {
      $base: 'template-app',
      cdk8s_core_version: versionOf('cdk8s'),
      cdk8s_plus_version: versionOf('cdk8s-plus-33'),
      constructs_version: versionOf('constructs'),
      cdk8s_cli_spec: `^${versionOf('cdk8s-cli')}`,
    };
    spawnSync('mkdir', ['-p', join(dir, '__snapshots__')]);
    for (const name of readdirSync(template)) {
      if (name === '.hooks.sscaff.js' || name === '__snapshots__') continue;
      const text = readFileSync(join(template, name), 'utf8').replace(
        /\{\{ *([$\w]+) *\}\}/g,
        (m, k: string) => {
          if (!(k in values)) throw new Error(`template placeholder ${m} has no value`);
          return values[k]!;
        },
      );
      writeFileSync(join(dir, name.replace('{{}}', '')), text);
    }
    // The template's own main.ts/main.test.ts, with a mesh in them.
    writeFileSync(join(dir, 'mesh.ts'), MAIN);
    writeFileSync(
      join(dir, 'main.ts'),
      "import { App } from 'cdk8s';\nimport { build } from './mesh';\n\nconst app = new App();\nbuild(app);\napp.synth();\n",
    );
    writeFileSync(
      join(dir, 'main.test.ts'),
      TEST(
        (m) =>
          `import { ${m === 'cdk8s' ? 'Testing' : m === './mesh' ? 'build' : 'meshMatchers, to'} } from '${m}';`,
      ),
    );
    const install = run(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], 600_000);
    expectExit(install, 0);
    const add = run(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], 600_000);
    expectExit(add, 0);
  }, 1_200_000);

  test('has one copy of cdk8s and constructs, and installs no Node binary', () => {
    const ls = run(dir, 'npm', ['ls', 'cdk8s', 'constructs', '--all', '--parseable']);
    const copies = ls.out.split('\n').filter((l) => /node_modules\/(cdk8s|constructs)$/.test(l));
    expect(copies.map((p) => p.slice(dir.length))).toEqual([
      '/node_modules/cdk8s',
      '/node_modules/constructs',
    ]);
    const bins = readdirSync(join(dir, 'node_modules/.bin'));
    expect(bins).toContain('cdk8s-mesh');
    expect(bins).not.toContain('node');
  });

  test('type-checks with its own tsconfig', () => {
    expectExit(run(dir, 'npx', ['tsc', '--noEmit']), 0);
  });

  test('cdk8s synth writes the mesh', () => {
    const r = run(dir, 'npx', ['cdk8s', 'synth']);
    expectExit(r, 0);
    const yaml = readFileSync(join(dir, 'dist/shop.k8s.yaml'), 'utf8');
    expect(yaml).toContain('kind: VirtualService');
    expect(yaml).toMatch(/principals:\n\s+- cluster.local\/ns\/shop\/sa\/web/);
  });

  test('npx cdk8s-mesh lint passes dist/ and finds a missing subset', () => {
    expectExit(run(dir, 'npx', ['cdk8s-mesh', 'lint', 'dist/']), 0);
    writeFileSync(join(dir, 'broken.yaml'), BROKEN);
    const r = run(dir, 'npx', ['cdk8s-mesh', 'lint', 'dist/', 'broken.yaml']);
    expectExit(r, 79);
    expect(r.out).toContain('v9');
  });

  test('a Jest test with cdk8s-mesh/testing passes under ts-jest', () => {
    expectExit(run(dir, 'npx', ['jest', '--ci']), 0);
  });
});

describe('an ES module project run with tsx', () => {
  let dir: string;

  beforeAll(() => {
    dir = join(work, 'esm-app');
    spawnSync('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify(
        {
          name: 'esm-app',
          private: true,
          type: 'module',
          dependencies: {
            cdk8s: versionOf('cdk8s'),
            'cdk8s-plus-28': versionOf('cdk8s-plus-28'),
            constructs: versionOf('constructs'),
          },
          devDependencies: {
            'cdk8s-cli': versionOf('cdk8s-cli'),
            tsx: versionOf('tsx'),
            typescript: versionOf('typescript'),
            jest: versionOf('jest'),
            '@jest/globals': versionOf('@jest/globals'),
          },
        },
        null,
        2,
      ),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        include: ['*.ts'],
      }),
    );
    writeFileSync(join(dir, 'cdk8s.yaml'), 'language: typescript\napp: npx tsx main.ts\n');
    writeFileSync(join(dir, 'mesh.ts'), MAIN);
    writeFileSync(
      join(dir, 'main.ts'),
      "import { App } from 'cdk8s';\nimport { build } from './mesh.js';\n\nconst app = new App();\nbuild(app);\napp.synth();\n",
    );
    // Jest runs the test as a plain JavaScript ES module (no transform) against the mesh module
    // compiled by the project's own TypeScript.
    writeFileSync(
      join(dir, 'main.test.js'),
      TEST((m) =>
        m === 'cdk8s'
          ? "import { expect, test } from '@jest/globals';\nimport { Testing } from 'cdk8s';"
          : m === './mesh'
            ? "import { build } from './mesh-built.js';"
            : "import { meshMatchers, to } from 'cdk8s-mesh/testing';",
      ),
    );
    writeFileSync(
      join(dir, 'jest.config.js'),
      'export default { transform: {}, testMatch: ["**/main.test.js"] };\n',
    );
    expectExit(
      run(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], 600_000),
      0,
    );
    // The mesh module compiled by the project's own TypeScript, for the Jest test.
    expectExit(
      run(dir, 'npx', [
        'tsc',
        'mesh.ts',
        '--outDir',
        'out',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--target',
        'ES2022',
        '--skipLibCheck',
      ]),
      0,
    );
    copyFileSync(join(dir, 'out/mesh.js'), join(dir, 'mesh-built.js'));
  }, 1_200_000);

  test('type-checks with its own tsconfig', () => {
    expectExit(run(dir, 'npx', ['tsc', '-p', '.']), 0);
  });

  test('cdk8s synth writes the mesh, and lint passes it', () => {
    expectExit(run(dir, 'npx', ['cdk8s', 'synth']), 0);
    expect(readFileSync(join(dir, 'dist/shop.k8s.yaml'), 'utf8')).toContain('kind: AuthorizationPolicy');
    expectExit(run(dir, 'npx', ['cdk8s-mesh', 'lint', 'dist/']), 0);
  });

  test('the installed cdk8s-mesh dashboard serves its page and assets over loopback, and lists the cluster it cannot reach', async () => {
    // A kubeconfig for a cluster that is not there (a closed loopback port): the page still comes
    // up and says what fails. Node from this repository: talking to a cluster needs Node >= 22.19.
    writeFileSync(
      join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: gone, cluster: { server: "https://127.0.0.1:9" } }]',
        'users: [{ name: me, user: { token: not-a-secret } }]',
        'contexts: [{ name: gone, context: { cluster: gone, user: me, namespace: shop } }]',
        'current-context: gone',
        '',
      ].join('\n'),
    );
    const bin = join(dir, 'node_modules/cdk8s-mesh/lib/cli/bin.js');
    const child = spawn(process.execPath, [bin, 'dashboard', '--kubeconfig', 'kubeconfig', '--port', '0'], {
      cwd: dir,
      env: userEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 60_000;
      const listening = /: (http:\/\/127\.0\.0\.1:\d+)\n/;
      while (!listening.test(out) && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const url = listening.exec(out)?.[1];
      if (!url)
        throw new Error(`the dashboard did not say where it listens (exit ${child.exitCode}):\n${out}`);
      expect(out.split('\n')[0]).toBe(`dashboard of shop on https://127.0.0.1:9: ${url}`);
      for (const [path, file, type] of [
        ['/', 'index.html', 'text/html'],
        ['/app.js', 'app.js', 'text/javascript'],
        ['/style.css', 'style.css', 'text/css'],
      ] as const) {
        const res = await fetch(`${url}${path}`);
        expect([path, res.status, res.headers.get('content-type')?.split(';')[0]]).toEqual([path, 200, type]);
        expect(await res.text()).toBe(readFileSync(join(repo, 'cli/dashboard/assets', file), 'utf8'));
      }
      const state = (await (await fetch(`${url}/api/state`)).json()) as { problems: Record<string, string> };
      expect(state.problems['watch Service shop']).toMatch(/^watching Services in shop: /);
      expect(JSON.stringify(state)).not.toContain('not-a-secret');
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
  }, 120_000);

  test('a Jest test with cdk8s-mesh/testing passes as an ES module', () => {
    const r = spawnSync('npx', ['jest', '--ci'], {
      cwd: dir,
      env: { ...userEnv, NODE_OPTIONS: '--experimental-vm-modules' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({
      status: 0,
      out: expect.stringContaining('1 passed') as string,
    });
  });
});
