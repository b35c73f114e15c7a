/** `cli reachability` and `cli graph` on synthesized Bookinfo YAML, with and without a declared call graph. */
import { App as CdkApp, Testing, Yaml } from 'cdk8s';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EXIT } from '../../../cli/main.js';
import { writeCallGraphs } from '../../../constructs/index.js';
import { cli, cliWith, tempDirEach } from './helpers.js';
import { buildScenario, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';
import { boutique } from '../../../examples/boutique/boutique.js';

const tmp = tempDirEach('cli-reach-');

function scenarioFile(name: ScenarioName): string {
  const p = join(tmp(), `${name}.k8s.yaml`);
  writeFileSync(p, Yaml.stringify(...Testing.synth(buildScenario(Testing.app(), name).mesh)));
  return p;
}
function file(name: string, text: string): string {
  const p = join(tmp(), name);
  writeFileSync(p, text);
  return p;
}

describe('cli reachability', () => {
  test('prints the matrix of YAML with no call graph, and says there is nothing to compare', async () => {
    const { code, out } = await cli('reachability', scenarioFile('zero-trust-call-graph'));
    expect(code).toBe(EXIT.ok);
    expect(out).toContain('productpage                     GET      -            -        GET');
    expect(out).toContain(
      'No declared call graph (YAML or a cluster, without --calls or a *.calls.yaml file): nothing to compare.',
    );
  });

  test('--calls: the declared graph; a denied call is MESH506 and exits 79, an undeclared principal MESH507', async () => {
    const calls = file(
      'calls.yaml',
      [
        '- { from: ingress, to: productpage }',
        '- { from: productpage, to: details, methods: [GET] }',
        '- { from: productpage, to: ratings, methods: [GET] }',
      ].join('\n'),
    );
    const { code, out } = await cli('reachability', scenarioFile('zero-trust-call-graph'), '--calls', calls);
    expect(code).toBe(79);
    expect(out).toContain(
      'MESH506 productpage → ratings:9080 (GET /) is declared but denied on ratings-v1 port 9080: no rule of the ALLOW policies (default/allow-nothing, default/ratings-viewer) matches',
    );
    expect(out).toContain(
      'MESH507 default/ratings-viewer rules[0] allows cluster.local/ns/default/sa/bookinfo-reviews, but no declared call from it reaches default/ratings',
    );
    expect(out).toMatch(/^productpage\s+GET \*\s+-\s+- \* !MESH506\s+GET !MESH507$/m);
  });

  test('--output json has the cells and the differences', async () => {
    const { code, out } = await cli('reachability', scenarioFile('zero-trust'), '-o', 'json');
    expect(code).toBe(EXIT.ok);
    const j = JSON.parse(out) as { cells: { from: string; to: string; access: string }[]; differences: [] };
    expect(j.cells).toContainEqual(
      expect.objectContaining({ from: 'productpage', to: 'default/reviews', access: 'partial' }),
    );
    expect(j.differences).toEqual([]);
  });

  test('a --calls entry naming an unknown workload is a tool failure that says which', async () => {
    const calls = file('calls.yaml', '- { from: nobody, to: reviews }\n');
    const { code, err } = await cli('reachability', scenarioFile('platform'), '--calls', calls);
    expect(code).toBe(EXIT.toolFailure);
    expect(err).toContain('calls[0]: no workload default/nobody in the mesh');
  });
});

/** Online Boutique synthesized into a fresh directory with its call graph beside it, as `npm run synth` does. */
function boutiqueDir(): string {
  const dir = join(tmp(), 'dist');
  const app = new CdkApp({ outdir: dir });
  boutique(app, 'boutique');
  app.synth();
  expect(writeCallGraphs(app)).toStrictEqual([join(dir, 'boutique.calls.yaml')]);
  expect(readdirSync(dir).sort()).toStrictEqual(['boutique.calls.yaml', 'boutique.k8s.yaml']);
  return dir;
}

describe('the call graph synth writes next to the YAML', () => {
  test('reachability on the directory compares with it, no --calls needed: every declared call allowed, no difference', async () => {
    const { code, out } = await cli('reachability', boutiqueDir(), '--list');
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(
      /^cartservice +redis-cart +6379 +TCP +ALLOW policy default\/redis-cart-viewer rule 0 matches +allow \*$/m,
    );
    expect(out).toMatch(
      /^checkoutservice +cartservice +7070 +GRPC +ALLOW policy default\/cartservice-viewer rule 1 matches +\/hipstershop\.CartService\/EmptyCart \/hipstershop\.CartService\/GetCart \*$/m,
    );
    expect(out).toContain('No difference between the policies and the declared call graph.');
  });

  test('a call graph that differs from the policies: MESH506 in reachability and in lint, both exit 79', async () => {
    const dir = boutiqueDir();
    // A second call graph file in the directory is merged: the load generator never got Redis.
    writeFileSync(
      join(dir, 'extra.calls.yaml'),
      '- { from: default/loadgenerator, to: default/redis-cart }\n',
    );
    const reach = await cli('reachability', dir, '--list');
    expect(reach.code).toBe(79);
    expect(reach.out).toMatch(
      /^loadgenerator +redis-cart +6379 +TCP +no rule of the ALLOW policies .* denied \* !MESH506$/m,
    );
    const lint = await cli('lint', dir);
    expect(lint.code).toBe(79);
    expect(lint.out).toContain('Error [MESH506]');
    expect(lint.out).toContain('loadgenerator');
    expect(lint.err).toContain(
      `Note: declared call graph: ${join(dir, 'boutique.calls.yaml')}, ${join(dir, 'extra.calls.yaml')}`,
    );
    // --calls names the graph instead of the files found.
    const only = file('only.yaml', '- { from: cartservice, to: redis-cart }\n');
    const explicit = await cli('lint', dir, '--calls', only, '--failure-threshold', 'error');
    expect(explicit.out).not.toContain('MESH506');
    expect(explicit.out).toContain('MESH507');
  });
});

describe('the call graph file carries ports, and its readers check them', () => {
  test('synth writes the container ports of a call; a declared port the policy does not allow is MESH506', async () => {
    const dir = boutiqueDir();
    const written = parse(readFileSync(join(dir, 'boutique.calls.yaml'), 'utf8')) as {
      calls: { from: string; to: string; ports?: number[] }[];
    };
    expect(
      written.calls.find((c) => c.from === 'default/cartservice' && c.to === 'default/redis-cart'),
    ).toEqual({
      from: 'default/cartservice',
      principal: 'cluster.local/ns/default/sa/cartservice',
      to: 'default/redis-cart',
      ports: [6379],
    });
    const port = (ports: string) =>
      cli(
        'lint',
        dir,
        '--calls',
        file('ports.yaml', `- { from: cartservice, to: redis-cart, ports: ${ports} }\n`),
      );
    const allowed = await port('[6379]');
    expect(allowed.out).not.toContain('MESH506');
    const other = await port('[6380]');
    expect(other.code).toBe(79);
    expect(other.out).toContain('Error [MESH506]');
    const bad = await port('[http]');
    expect(bad.code).toBe(EXIT.toolFailure);
    expect(bad.err).toContain(
      'calls[0].ports is ["http"]: expected a list of container port numbers (1-65535), or leave it out for the Service\'s first port',
    );
  });
});

describe('reachability as a list', () => {
  test('--list: a line per caller and Service it may reach, with port, protocol, why and what; the denied pairs counted', async () => {
    const { code, out } = await cli('reachability', scenarioFile('zero-trust-call-graph'), '--list');
    expect(code).toBe(EXIT.ok);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^caller +service +port +protocol +why +may$/);
    expect(lines.slice(2, 6).map((l) => l.split(/ {2,}/))).toStrictEqual([
      [
        'istio-ingressgateway (ingress)',
        'productpage',
        '9080',
        'HTTP',
        'ALLOW policy default/productpage-viewer rule 0 matches',
        'allow',
      ],
      ['productpage', 'details', '9080', 'HTTP', 'ALLOW policy default/details-viewer rule 0 matches', 'GET'],
      ['productpage', 'reviews', '9080', 'HTTP', 'ALLOW policy default/reviews-viewer rule 0 matches', 'GET'],
      ['reviews', 'ratings', '9080', 'HTTP', 'ALLOW policy default/ratings-viewer rule 0 matches', 'GET'],
    ]);
    expect(lines[7]).toBe(
      '4 caller/service pair(s) listed; 16 denied or without a connection, and not declared, are not (--matrix shows every pair)',
    );
  });

  test('the list when the matrix is wider than the terminal; --matrix keeps the matrix; not both', async () => {
    const dir = boutiqueDir();
    const auto = await cliWith({ columns: 120 }, 'reachability', dir);
    expect(auto.out.split('\n')[0]).toMatch(/^caller +service +port +protocol +why +may$/);
    const matrix = await cliWith({ columns: 120 }, 'reachability', dir, '--matrix');
    expect(matrix.out.split('\n')[0]).toMatch(/^caller \\ callee +adservice +cartservice/);
    const wide = await cliWith({ columns: 2000 }, 'reachability', dir);
    expect(wide.out).toBe(matrix.out);
    const both = await cli('reachability', dir, '--list', '--matrix');
    expect(both.code).toBe(EXIT.toolFailure);
    expect(both.err).toContain('give --list or --matrix, not both');
  });

  test('--output json: each cell has its port, protocol and reason', async () => {
    const { out } = await cli('reachability', boutiqueDir(), '-o', 'json');
    const j = JSON.parse(out) as { cells: Record<string, unknown>[] };
    expect(j.cells.find((c) => c.from === 'frontend' && c.to === 'default/adservice')).toMatchObject({
      access: 'partial',
      allowed: ['/hipstershop.AdService/GetAds'],
      port: 9555,
      protocol: 'GRPC',
      reason: 'ALLOW policy default/adservice-viewer rule 0 matches',
      declared: true,
    });
    expect(j.cells.find((c) => c.from === 'adservice' && c.to === 'default/frontend')).toMatchObject({
      access: 'deny',
      port: 80,
      protocol: 'HTTP',
    });
  });
});

describe('cli graph', () => {
  test('writes the SVG to --out, or to stdout', async () => {
    const yaml = scenarioFile('reviews-80-20');
    const out = join(tmp(), 'mesh.svg');
    const written = await cli('graph', yaml, '--out', out, '--title', 'reviews 80/20');
    expect(written.code).toBe(EXIT.ok);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toContain('>reviews 80/20</text>');
    expect(svg).toContain('>80%</text>');
    const printed = await cli('graph', yaml, '--title', 'reviews 80/20');
    expect(printed.out).toBe(svg);
    // The first ELK layout of the run loads elkjs: seconds on a loaded machine, more than Jest's 5 s default.
  }, 60_000);
});
