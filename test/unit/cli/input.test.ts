/**
 * The input loader of lint, explain, reachability and graph: paths resolve from the directory
 * the user ran the command in (INIT_CWD under npm), are shown as typed, and input that is not a
 * regular file is skipped with a message instead of being read.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT } from '../../../cli/main.js';
import { MAX_INPUT_BYTES, readFiles } from '../../../cli/input.js';
import { resolvePath, userDir } from '../../../cli/io.js';
import { cliWith, tempDirEach } from './helpers.js';
import { baseMesh, vs } from '../validator/fixtures.js';

const tmp = tempDirEach('cli-input-');
const yaml = (objs: object[]) => objs.map((o) => stringify(o)).join('---\n');
const bad = vs('reviews', {
  hosts: ['reviews'],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }],
});

describe('the directory paths resolve from', () => {
  test.each([
    [{ cwd: '/pkg', env: { INIT_CWD: '/home/me/app' } }, '/home/me/app'],
    [{ cwd: '/pkg', env: {} }, '/pkg'],
    [{ cwd: '/pkg', env: { INIT_CWD: '' } }, '/pkg'],
  ])('%j → %s', (io, dir) => {
    expect(userDir(io)).toBe(dir);
    expect(resolvePath(io, 'mesh.yaml')).toBe(join(dir, 'mesh.yaml'));
    expect(resolvePath(io, '/abs/mesh.yaml')).toBe('/abs/mesh.yaml');
  });

  test('under npm run, a relative path is read from INIT_CWD and shown as typed', async () => {
    const user = tmp();
    mkdirSync(join(user, 'dist'));
    writeFileSync(join(user, 'dist/mesh.yaml'), yaml([...baseMesh(), bad]));
    const r = await cliWith({ cwd: '/', env: { INIT_CWD: user } }, 'lint', 'dist', '-o', 'text');
    expect(r.code).toBe(EXIT.findings);
    expect(r.out).toMatch(/\(VirtualService default\/reviews dist\/mesh\.yaml:VirtualService\/reviews:\d+\)/);
  });

  test('graph --out and --calls resolve from the same directory', async () => {
    const user = tmp();
    writeFileSync(join(user, 'mesh.yaml'), yaml(baseMesh()));
    writeFileSync(join(user, 'calls.yaml'), '- { from: productpage, to: reviews }\n');
    const r = await cliWith(
      { cwd: '/', env: { INIT_CWD: user } },
      'graph',
      'mesh.yaml',
      '--calls',
      'calls.yaml',
      '--out',
      'mesh.svg',
    );
    expect(r).toEqual({ code: EXIT.ok, out: '', err: 'wrote mesh.svg\n' });
    expect(readFileSync(join(user, 'mesh.svg'), 'utf8')).toMatch(/^<svg/);
  });

  test('fails if a relative path does not exist, saying where it looked', async () => {
    const r = await cliWith({ cwd: '/', env: { INIT_CWD: tmp() } }, 'lint', 'nope.yaml');
    expect(r).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: `cdk8s-mesh lint: nope.yaml does not exist (relative to ${tmp()}): check the path\n`,
    });
    const calls = await cliWith(
      { cwd: '/', env: { INIT_CWD: tmp() } },
      'graph',
      '/dev/null',
      '--calls',
      'c.yaml',
    );
    expect(calls.err).toContain(
      `cdk8s-mesh graph: c.yaml does not exist (relative to ${tmp()}): check the path\n`,
    );
  });

  test('fails if --out cannot be written, naming it', async () => {
    writeFileSync(join(tmp(), 'mesh.yaml'), yaml(baseMesh()));
    const r = await cliWith({ env: { INIT_CWD: tmp() } }, 'graph', 'mesh.yaml', '--out', 'no/such/dir/m.svg');
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toBe(
      `cdk8s-mesh graph: cannot write no/such/dir/m.svg (relative to ${tmp()}): ENOENT: check that its directory exists and is writable\n`,
    );
  });
});

describe('input that is not a regular file', () => {
  test('a FIFO and a device are skipped with a message, not read (exit 65), and the rest is linted', async () => {
    const fifo = join(tmp(), 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const good = join(tmp(), 'mesh.yaml');
    writeFileSync(good, yaml(baseMesh()));
    // Reading the FIFO would block for ever: the test ending proves it was not opened.
    const r = await cliWith({}, 'lint', fifo, '/dev/null', good);
    expect(r.code).toBe(EXIT.parseError);
    expect(r.err).toBe(
      [
        `Error [input] ${fifo}: a FIFO (named pipe), not a regular file - skipping`,
        'Error [input] /dev/null: a character device, not a regular file - skipping',
        '',
      ].join('\n'),
    );
    expect(r.out).toBe('✔ No validation issues found (but 2 document(s) could not be read).\n');
  });

  test('a FIFO found in a directory is skipped the same way; JSON shows the problem', async () => {
    execFileSync('mkfifo', [join(tmp(), 'pipe.yml')]);
    writeFileSync(join(tmp(), 'mesh.yaml'), yaml(baseMesh()));
    const r = await cliWith({}, 'lint', tmp(), '-o', 'json');
    expect(r.code).toBe(EXIT.parseError);
    expect((JSON.parse(r.out) as { parseErrors: unknown[] }).parseErrors).toEqual([
      { file: join(tmp(), 'pipe.yml'), message: 'a FIFO (named pipe), not a regular file' },
    ]);
  });

  test('a malformed JSON file is reported at the line of the error', async () => {
    const p = join(tmp(), 'broken.json');
    writeFileSync(p, '{\n  "kind": "Service",\n  "metadata": {,\n}\n');
    const r = await cliWith({}, 'lint', p);
    expect(r.code).toBe(EXIT.parseError);
    expect(r.err).toMatch(new RegExp(`^Error \\[parse\\] ${p}:3: .*JSON.* - skipping\\n$`));
  });
});

describe('input at scale', () => {
  // 130,000 objects: past the ~125,000 where spreading them into one call overflowed the stack.
  const COUNT = 130_000;
  const service = (i: number) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: `sa-${i}`, namespace: 'default' },
  });

  test(`lint reads ${COUNT} documents of one YAML file, linearly, and names what it found`, async () => {
    const p = join(tmp(), 'many.yaml');
    const docs: string[] = [];
    for (let i = 0; i < COUNT; i++)
      docs.push(`apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-${i}, namespace: default}\n`);
    docs.push(
      'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec: {hosts: [r], http: [{route: [{destination: {host: 5}}]}]}\n',
    );
    writeFileSync(p, docs.join('---\n'));
    const started = Date.now();
    const r = await cliWith({}, 'lint', p, '-o', 'json');
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.code).toBe(EXIT.findings);
    const out = JSON.parse(r.out) as { findings: { code: string; where: string; message: string }[] };
    expect(out.findings.filter((f) => f.code === 'MESH001')).toEqual([
      expect.objectContaining({
        where: `${p}:VirtualService/r:${COUNT * 4 + 1}`,
        message: 'spec.http[0].route[0].destination.host: must be string (got 5)',
      }),
    ]);
  }, 120_000);

  test(`lint reads a List of ${COUNT} items in a JSON file, and Lists nested 10,000 deep`, async () => {
    const p = join(tmp(), 'list.json');
    const sa = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'deep', namespace: 'default' },
    });
    const nested = `${'{"apiVersion":"v1","kind":"List","items":['.repeat(10_000)}${sa}${']}'.repeat(10_000)}`;
    const items: object[] = [];
    for (let i = 0; i < COUNT; i++) items.push(service(i));
    writeFileSync(p, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...items, bad] }));
    writeFileSync(join(tmp(), 'nested.json'), nested);
    const r = await cliWith({}, 'lint', p, join(tmp(), 'nested.json'), '-o', 'json');
    expect(r.code).toBe(EXIT.findings);
    const out = JSON.parse(r.out) as { findings: { code: string }[]; parseErrors: unknown[] };
    expect(out.parseErrors).toEqual([]);
    expect(out.findings.map((f) => f.code)).toContain('MESH101');
  }, 120_000);

  test('fails if a file is larger than the limit: skipped with its size and what to do, not read', () => {
    const p = join(tmp(), 'huge.yaml');
    writeFileSync(p, yaml(baseMesh()));
    const small = join(tmp(), 'small.yaml');
    writeFileSync(small, yaml([bad]));
    const r = readFiles({ out: () => {}, err: () => {} }, [p, small], 1024);
    expect(r.problems).toEqual([
      {
        file: p,
        message: expect.stringMatching(
          /^\d+\.\d MiB, larger than the 0\.0009765625 MiB read from one file: split it into several files$/,
        ),
      },
    ]);
    expect(r.objects.map((o) => o.object.kind)).toEqual(['VirtualService']);
  });

  test(`a file over ${MAX_INPUT_BYTES / 1024 / 1024} MiB is skipped by lint with a message, without being read`, async () => {
    const p = join(tmp(), 'sparse.yaml');
    execFileSync('truncate', ['-s', String(MAX_INPUT_BYTES + 1), p]); // sparse: no disk, no time
    const r = await cliWith({}, 'lint', p);
    expect(r.code).toBe(EXIT.parseError);
    expect(r.err).toBe(
      `Error [input] ${p}: 128.0 MiB, larger than the 128 MiB read from one file: split it into several files - skipping\n`,
    );
  });
});
