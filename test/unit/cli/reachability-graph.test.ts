/** `cli reachability` and `cli graph` on synthesized Bookinfo YAML, with and without a declared call graph. */
import { Testing, Yaml } from 'cdk8s';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../../cli/main.js';
import { cli, tempDirEach } from './helpers.js';
import { buildScenario, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';

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
      'No declared call graph (the model was loaded from YAML or a cluster): nothing to compare.',
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
      'MESH506 productpage → ratings (GET /) is declared but denied on ratings-v1: no rule of the ALLOW policies (default/allow-nothing, default/ratings-viewer) matches',
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
  });
});
