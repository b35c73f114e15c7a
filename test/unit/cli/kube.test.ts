/** The CLI's kubeconfig errors, as a user sees them: which file is missing and what to do, never a connection to localhost:8080. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../../cli/main.js';
import { cliWith, tempDirEach } from './helpers.js';

const tmp = tempDirEach('cli-kube-');

describe('a missing or broken kubeconfig', () => {
  test.each([
    [['status']],
    [['promote', 'reviews']],
    [['lint', '--context', 'prod']],
    [['reachability', '--context', 'prod']],
  ])('fails if %j finds no kubeconfig, naming ~/.kube/config', async (argv) => {
    const env = { HOME: tmp() };
    const r = await cliWith({ env }, ...argv);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toBe(
      `cdk8s-mesh ${argv[0]}: no kubeconfig: --kubeconfig is not given, KUBECONFIG is not set, and ${tmp()}/.kube/config does not exist; pass --kubeconfig <path>, set KUBECONFIG, or write ${tmp()}/.kube/config (kind, minikube and cloud CLIs create it)\n`,
    );
    expect(r.err).not.toContain('localhost:8080');
  });

  test('fails if --kubeconfig does not exist, relative to the directory the user ran in', async () => {
    const r = await cliWith(
      { cwd: '/', env: { INIT_CWD: tmp(), HOME: tmp() } },
      'lint',
      '--kubeconfig',
      'nope',
    );
    expect(r).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: `cdk8s-mesh lint: the kubeconfig nope does not exist (relative to ${tmp()}): check the path given with --kubeconfig\n`,
    });
  });

  test('fails if the kubeconfig has a YAML error, without printing its tokens', async () => {
    const p = join(tmp(), 'config');
    writeFileSync(p, 'users:\n- name: u\n  user: {token: SECRET-TOKEN\n');
    const r = await cliWith({ env: { HOME: tmp() } }, 'status', '--kubeconfig', p);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toMatch(
      new RegExp(
        `^cdk8s-mesh status: the kubeconfig ${p} is not valid YAML at line \\d+, column \\d+: .+: fix the file, or pass another with --kubeconfig\\n$`,
      ),
    );
    expect(r.err).not.toContain('SECRET');
  });

  test.each([
    [['status']],
    [['lint']],
    [['explain', '--host', 'reviews']],
    [['reachability']],
    [['graph']],
    [['promote', 'reviews']],
  ])(
    'fails if %j cannot reach a server whose URL carries credentials, without printing them',
    async (argv) => {
      const p = join(tmp(), 'config');
      writeFileSync(
        p,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://admin:hunter2@127.0.0.1:9/?token=PASS-TOKEN"}}]',
          'users: [{name: u, user: {token: USER-TOKEN}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
          '',
        ].join('\n'),
      );
      const r = await cliWith({ env: { HOME: tmp() } }, ...argv, '--kubeconfig', p);
      expect(r.code).toBe(EXIT.toolFailure);
      expect(r.err).toContain('https://REDACTED@127.0.0.1:9/?token=REDACTED');
      for (const secret of ['hunter2', 'PASS-TOKEN', 'USER-TOKEN'])
        expect(r.out + r.err).not.toContain(secret);
    },
  );

  test('files and a cluster are not mixed', async () => {
    const r = await cliWith({}, 'lint', 'a.yaml', '--kubeconfig', '/k');
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err.split('\n')[0]).toBe(
      'cdk8s-mesh lint: give files or --kubeconfig/--context, not both (got a.yaml and --kubeconfig)',
    );
  });
});
