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
