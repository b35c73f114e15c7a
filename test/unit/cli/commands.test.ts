/** The command line itself: help texts, unknown commands and flags, and the Node.js check of cluster commands. */
import fc from 'fast-check';
import { COMMANDS, KUBE_CLIENT_NODE, commandHelp, nodeAtLeast, overviewHelp } from '../../../cli/commands.js';
import { EXIT } from '../../../cli/main.js';
import { cli, cliWith } from './helpers.js';

describe('help', () => {
  test('--help, -h and help: the overview lists every command under the program name', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      expect(await cli(...argv)).toEqual({ code: EXIT.ok, out: overviewHelp(), err: '' });
    }
    const text = overviewHelp();
    expect(text.split('\n')[0]).toBe(
      'cdk8s-mesh: lint, explain and operate an Istio mesh built with cdk8s-mesh',
    );
    for (const c of COMMANDS)
      expect(text).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[()`|.*]/g, '\\$&')}$`, 'm'));
    expect(text).not.toMatch(/\bcli /);
  });

  test('fails with the overview on stderr and exit 1 if no command is given', async () => {
    expect(await cli()).toEqual({ code: EXIT.toolFailure, out: '', err: overviewHelp() });
  });

  test.each(COMMANDS.map((c) => [c.name, c] as const))(
    '%s --help describes the command, every flag and every exit code',
    async (name, spec) => {
      const text = commandHelp(spec);
      for (const argv of [
        [name, '--help'],
        [name, '-h'],
        ['help', name],
        [name, 'x', '--output', 'json', '-h'],
      ])
        expect(await cli(...argv)).toEqual({ code: EXIT.ok, out: text, err: '' });
      const lines = text.split('\n');
      expect(lines[0]).toBe(`cdk8s-mesh ${name}: ${spec.summary}`);
      expect(lines.filter((l) => l.startsWith(`  cdk8s-mesh ${name} `)).length).toBe(spec.usage.length);
      for (const f of spec.flags) {
        const head = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` <${f.arg}>` : ''}`;
        const line = lines.find((l) => l.startsWith(`  ${head} `));
        expect(line).toContain(f.help);
        if (f.default !== undefined) expect(line).toContain(`(default: ${f.default})`);
      }
      for (const [code, meaning] of spec.exits)
        expect(text).toMatch(new RegExp(`^  ${code} +${meaning.replace(/[()`|.*?]/g, '\\$&')}$`, 'm'));
      expect(text).not.toMatch(/\bcli /);
    },
  );

  test('explain --help documents its exit codes', async () => {
    const { out } = await cli('explain', '--help');
    expect(out).toContain('  0    delivered: to a workload');
    expect(out).toContain('  2    denied by an AuthorizationPolicy (403)');
    expect(out).toContain('  3    refused: an mTLS mismatch or a reset connection, an injected abort');
    expect(out).toContain('  4    no route: no rule matches (404), no Service or ServiceEntry for the host');
    expect(out).toContain('  65   delivered, but some input could not be parsed');
  });
});

describe('unknown commands and flags', () => {
  test.each([
    [
      ['frobnicate'],
      "cdk8s-mesh: unknown command 'frobnicate' (commands: lint, explain, rules, reachability, graph, status, dashboard, promote, resume, abort); see `cdk8s-mesh --help`\n",
    ],
    [
      ['help', 'frobnicate'],
      "cdk8s-mesh: unknown command 'frobnicate' (commands: lint, explain, rules, reachability, graph, status, dashboard, promote, resume, abort); see `cdk8s-mesh --help`\n",
    ],
    [
      ['--kubeconfig', 'k', 'status'],
      'cdk8s-mesh: give the command first (got the flag --kubeconfig); see `cdk8s-mesh --help`\n',
    ],
  ])('fails if the command is unknown or missing: %j', async (argv, err) => {
    expect(await cli(...argv)).toEqual({ code: EXIT.toolFailure, out: '', err });
  });

  test.each([
    [['lint', 'a.yaml', '--frob'], 'cdk8s-mesh lint: unknown flag --frob'],
    [['rules', '-x'], 'cdk8s-mesh rules: unknown flag -x'],
    [['lint', 'a.yaml', '--output'], 'cdk8s-mesh lint: --output needs a value'],
    [['rules', '--help=yes'], 'cdk8s-mesh rules: --help takes no value'],
    [['status', '--hops'], 'cdk8s-mesh status: unknown flag --hops'],
    [['rules', 'extra'], 'cdk8s-mesh rules: rules takes no arguments (got extra)'],
  ])('fails if a flag is unknown or misused: %j', async (argv, first) => {
    const r = await cli(...argv);
    expect(r.code).toBe(EXIT.toolFailure);
    const lines = r.err.split('\n');
    expect(lines[0]).toBe(first);
    expect(lines[1]).toMatch(new RegExp(`^usage: cdk8s-mesh ${argv[0]} `));
    expect(r.err.trimEnd().split('\n').at(-1)).toBe(`see \`cdk8s-mesh ${argv[0]} --help\``);
  });
});

describe('a command that talks to a cluster checks the Node.js version first', () => {
  test.each([
    [['status'], '20.20.2', 'cdk8s-mesh status'],
    [['promote', 'reviews'], '22.18.9', 'cdk8s-mesh promote'],
    [['resume', 'reviews'], '18.0.0', 'cdk8s-mesh resume'],
    [['abort', 'reviews'], '20.19.0', 'cdk8s-mesh abort'],
    [['lint', '--kubeconfig', '/k'], '20.20.2', 'cdk8s-mesh lint --kubeconfig'],
    [['explain', '--context', 'prod', '--host', 'x'], '20.20.2', 'cdk8s-mesh explain --context'],
    [['graph', '--kubeconfig', '/k'], '21.7.3', 'cdk8s-mesh graph --kubeconfig'],
  ])('fails if %j runs on Node.js %s, in one line', async (argv, nodeVersion, what) => {
    expect(await cliWith({ nodeVersion }, ...argv)).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: `${what}: needs Node.js >= ${KUBE_CLIENT_NODE} (this is ${nodeVersion}): the Kubernetes client it uses requires it\n`,
    });
  });

  test('offline commands, and help, run on an old Node.js', async () => {
    expect((await cliWith({ nodeVersion: '20.20.2' }, 'rules')).code).toBe(EXIT.ok);
    expect((await cliWith({ nodeVersion: '18.0.0' }, 'status', '--help')).code).toBe(EXIT.ok);
  });

  test('on a recent Node.js the command goes on (here: to the missing kubeconfig)', async () => {
    const r = await cliWith({ nodeVersion: '22.19.0' }, 'status', '--kubeconfig', '/nonexistent/kc');
    expect(r.err).toBe(
      'cdk8s-mesh status: the kubeconfig /nonexistent/kc does not exist: check the path given with --kubeconfig\n',
    );
  });

  test('nodeAtLeast compares numerically, component by component', () => {
    expect(nodeAtLeast('22.19.0', '22.19')).toBe(true);
    expect(nodeAtLeast('v22.19.0', '22.19')).toBe(true);
    expect(nodeAtLeast('22.9.0', '22.19')).toBe(false);
    expect(nodeAtLeast('100.0.0', '22.19')).toBe(true);
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.nat(40),
        fc.nat(40),
        fc.nat(40),
        (a, b, c, d) => nodeAtLeast(`${a}.${b}.0`, `${c}.${d}`) === (a > c || (a === c && b >= d)),
      ),
    );
  });
});
