/**
 * The compiled `cdk8s-mesh` as a whole process on the machine's Node.js 20 (/usr/bin/node):
 * help, rules and lint of a Bookinfo file run (they never load the Kubernetes client), and a
 * cluster command says in one line which Node.js it needs.
 * It reuses lib/ when `npm run build` is fresh, else compiles the CLI alone (≈30 s).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { KUBE_CLIENT_NODE } from '../../../cli/commands.js';
import { compiledCli } from '../../harness/compiled-cli.js';
const OLD_NODE = '/usr/bin/node';
const BOOKINFO = '/work/shared/reference/istio-bookinfo/bookinfo.yaml';

const run = promisify(execFile);
async function bin(
  file: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(OLD_NODE, [file, ...args], {
      timeout: 30_000,
      env: { ...process.env, HOME: '/nonexistent' },
    });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
/** A test runs whole processes: the child's own 30 s limit decides, not Jest's 5 s default. */
const PROCESS_TEST = 45_000;

const oldNode = existsSync(OLD_NODE)
  ? execFileSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).trim().slice(1)
  : '';
const onOldNode = oldNode && existsSync(BOOKINFO) ? describe : describe.skip;

onOldNode(`the compiled cdk8s-mesh on Node.js ${oldNode}`, () => {
  let file = '';
  beforeAll(() => {
    file = compiledCli();
  }, 120_000);

  test(
    '--help prints the overview, exit 0',
    async () => {
      const r = await bin(file, '--help');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')[0]).toBe(
        'cdk8s-mesh: lint, explain and operate an Istio mesh built with cdk8s-mesh',
      );
    },
    PROCESS_TEST,
  );

  test(
    'rules lists the rules, exit 0',
    async () => {
      const r = await bin(file, 'rules');
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain('MESH102\terror\tIST0101,KIA1107\troute destination subset not found\n');
    },
    PROCESS_TEST,
  );

  test(
    'lint of the Bookinfo file: clean, exit 0',
    async () => {
      const r = await bin(file, 'lint', BOOKINFO);
      expect(r).toEqual({ code: 0, stdout: '✔ No validation issues found.\n', stderr: '' });
    },
    PROCESS_TEST,
  );

  test(
    'fails if a cluster command runs on it, in one line, exit 1',
    async () => {
      const r = await bin(file, 'status');
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr: `cdk8s-mesh status: needs Node.js >= ${KUBE_CLIENT_NODE} (this is ${oldNode}): the Kubernetes client it uses requires it\n`,
      });
    },
    PROCESS_TEST,
  );
});
