/** The release commands' argument errors, which never reach a cluster, and their exit codes. */
import { EXIT, run } from '../../../../cli/main.js';

describe('arguments', () => {
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  }

  test.each([
    [['promote'], 'promote takes exactly one release name (got none)'],
    [['abort', 'a', 'b'], 'abort takes exactly one release name (got a b)'],
    [['promote', 'reviews', '-A'], 'cdk8s-mesh promote: unknown flag -A'],
    [['promote', 'reviews', '--watch'], 'cdk8s-mesh promote: unknown flag --watch'],
    [['status', 'a', 'b'], 'status takes at most one release name'],
    [['status', 'reviews', '-A'], 'give a release name or --all-namespaces, not both'],
    [
      ['status', '--watch', '--interval', 'soon'],
      '--interval must be a duration such as 2s or 500ms (got soon)',
    ],
  ])('%j is a usage error (exit 1)', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage:');
  });

  test('fails if the kubeconfig does not exist, naming it and what to do', async () => {
    const r = await cli('status', '--kubeconfig', '/nonexistent/kubeconfig');
    expect(r).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: 'cdk8s-mesh status: the kubeconfig /nonexistent/kubeconfig does not exist: check the path given with --kubeconfig\n',
    });
  });

  test('the exit codes are distinct', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(EXIT).toMatchObject({ refused: 3, notFound: 4, releaseFailed: 5 });
  });
});
