/** `cli lint`, `cli explain` and `cli rules` on files: output, JSON, and istioctl's exit codes. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT } from '../../../cli/main.js';
import { cli, tempDirEach } from './helpers.js';
import { baseMesh, vs } from '../validator/fixtures.js';

const tmp = tempDirEach('cli-lint-');

const yaml = (objs: object[]) => objs.map((o) => stringify(o)).join('---\n');
function file(name: string, text: string): string {
  const p = join(tmp(), name);
  writeFileSync(p, text);
  return p;
}
const badRoute = vs('reviews', {
  hosts: ['reviews'],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }],
});
const unreachable = vs('reviews', {
  hosts: ['reviews'],
  http: [
    { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
    { route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
  ],
});

describe('cli lint', () => {
  test('a clean mesh: exit 0 and the all-clear', async () => {
    const r = await cli('lint', file('mesh.yaml', yaml(baseMesh())));
    expect(r).toEqual({ code: EXIT.ok, out: '✔ No validation issues found.\n', err: '' });
  });

  test('fails with exit 79 on an error, naming file:Kind/name:line, the code and the hint', async () => {
    const p = file('mesh.yaml', yaml([...baseMesh(), badRoute]));
    const r = await cli('lint', p);
    expect(r.code).toBe(EXIT.findings);
    const line = yaml(baseMesh()).split('\n').length + 1; // the last document, after its `---`
    expect(r.out).toContain(
      `Error [MESH102 ~IST0101,KIA1107] (VirtualService default/reviews ${p}:VirtualService/reviews:${line}) http[0].route[0]: subset v9 of reviews is not defined in DestinationRule default/reviews (subsets: v1, v2)\n    hint: declare the subset`,
    );
    expect(r.out).toContain('1 error(s), 0 warning(s), 0 info(s)');
  });

  test('warnings exit 0 unless --failure-threshold warning', async () => {
    const p = file('mesh.yaml', yaml([...baseMesh(), unreachable]));
    expect((await cli('lint', p)).code).toBe(EXIT.ok);
    expect((await cli('lint', p, '--failure-threshold', 'warning')).code).toBe(EXIT.findings);
    expect((await cli('lint', p, '--failure-threshold', 'warning', '--suppress', 'IST0130')).code).toBe(
      EXIT.ok,
    );
  });

  test('malformed YAML is reported with file and line and the rest is still linted (exit 65)', async () => {
    const good = file('a.yaml', yaml(baseMesh()));
    const broken = file('b.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n');
    const r = await cli('lint', good, broken);
    expect(r.code).toBe(EXIT.parseError);
    // Line 5: where the parser gives up on the unclosed flow sequence (the end of the file).
    expect(r.err).toMatch(new RegExp(`^Error \\[parse\\] ${broken}:5: Flow sequence .+ - skipping`, 'm'));
    expect(r.out).toContain('No validation issues found (but 1 document(s) could not be read)');
  });

  test('JSON files: an array or a kubectl List of objects; malformed JSON is a parse error', async () => {
    const list = file(
      'cluster.json',
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...baseMesh(), badRoute] }),
    );
    const r = await cli('lint', list);
    expect(r.code).toBe(EXIT.findings);
    expect(r.out).toContain(
      `(VirtualService default/reviews ${list}:VirtualService/reviews) http[0].route[0]`,
    );
    const array = file('objects.json', JSON.stringify(baseMesh()));
    expect(await cli('lint', array)).toMatchObject({ code: EXIT.ok, err: '' });
    const broken = file('broken.json', '{"kind": "Service",');
    const b = await cli('lint', broken);
    expect(b.code).toBe(EXIT.parseError);
    expect(b.err).toMatch(new RegExp(`^Error \\[parse\\] ${broken}:1: .*JSON`, 'm'));
  });

  test('YAML documents that are not Kubernetes objects are reported at their line', async () => {
    const p = file(
      'odd.yaml',
      `${yaml(baseMesh())}---
- a list
---
# no kind
metadata: {name: x}
`,
    );
    const r = await cli('lint', p);
    expect(r.code).toBe(EXIT.parseError);
    const first = yaml(baseMesh()).split('\n').length + 1;
    expect(r.err).toContain(`${p}:${first}: a document must be a Kubernetes object (a mapping with kind)`);
    expect(r.err).toContain(`${p}:${first + 3}: document has no kind`);
  });

  test('findings win over parse errors for the exit code', async () => {
    const r = await cli('lint', file('a.yaml', yaml([...baseMesh(), badRoute])), file('b.yaml', 'a: [\n'));
    expect(r.code).toBe(EXIT.findings);
  });

  test('unknown kinds are skipped with a note; directories are read recursively', async () => {
    mkdirSync(join(tmp(), 'sub'));
    file(
      'sub/mesh.yml',
      yaml([...baseMesh(), { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]),
    );
    file('README.md', '# not yaml');
    const r = await cli('lint', tmp());
    expect(r.code).toBe(EXIT.ok);
    expect(r.err).toContain(`Note: ${join(tmp(), 'sub/mesh.yml')}:Widget/w:`);
    expect(r.err).toContain('kind Widget is not part of the mesh model: skipped');
  });

  test('--output json gives findings, parse errors, notes and a summary', async () => {
    const r = await cli('lint', file('m.yaml', yaml([...baseMesh(), badRoute])), '--output', 'json');
    const j = JSON.parse(r.out) as {
      findings: { code: string; severity: string; mirrors: string[] }[];
      summary: object;
    };
    expect(j.findings).toEqual([
      expect.objectContaining({ code: 'MESH102', severity: 'error', mirrors: ['IST0101', 'KIA1107'] }),
    ]);
    expect(j.summary).toEqual({ error: 1, warning: 0, info: 0 });
  });

  test('fails with exit 1 if a path does not exist or arguments are wrong', async () => {
    const missing = join(tmp(), 'missing.yaml');
    expect(await cli('lint', missing)).toEqual({
      code: EXIT.toolFailure,
      out: '',
      err: `cdk8s-mesh lint: ${missing} does not exist: check the path\n`,
    });
    expect((await cli('lint')).err).toContain('cdk8s-mesh lint: no files or directories given');
    expect((await cli('lint', 'x', '--output', 'xml')).err).toContain(
      'cdk8s-mesh lint: --output must be text or json (got xml)',
    );
  });
});

describe('cli explain', () => {
  const mesh = () =>
    file(
      'mesh.yaml',
      yaml([
        ...baseMesh(),
        vs('reviews', {
          hosts: ['reviews'],
          http: [
            {
              match: [{ headers: { 'end-user': { exact: 'jason' } } }],
              route: [{ destination: { host: 'reviews', subset: 'v2' } }],
            },
            { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
          ],
        }),
      ]),
    );

  test('prints the VirtualService, rule, destination, mTLS and decision for one request', async () => {
    const r = await cli(
      'explain',
      mesh(),
      '--from',
      'productpage',
      '--host',
      'reviews',
      '-H',
      'end-user: jason',
    );
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('GET reviews/ [end-user: jason] from Deployment default/productpage-v1');
    expect(r.out).toContain('rule:            http[0] match[0]');
    expect(r.out).toContain(
      '→ 100% reviews.default.svc.cluster.local subset v2 {"version":"v2"} → reviews-v2',
    );
    expect(r.out).toContain('authz:       ALLOW: no ALLOW policy applies to the workload');
  });

  test('--output json is the Explanation', async () => {
    const r = await cli('explain', mesh(), '--from', 'productpage', '--host', 'reviews', '--output', 'json');
    expect(JSON.parse(r.out)).toMatchObject({
      virtualService: 'default/reviews',
      route: { index: 1 },
      destinations: [{ subset: 'v1', probability: 1 }],
    });
  });

  test('fails with exit 1 if the caller is unknown or --host is missing', async () => {
    const r = await cli('explain', mesh(), '--from', 'nobody', '--host', 'reviews');
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toContain("explain: no workload 'nobody' in the mesh");
    expect((await cli('explain', mesh(), '--from', 'productpage')).err).toContain('explain needs --host');
  });
});

test('cli rules lists every rule with its severity and upstream codes', async () => {
  const r = await cli('rules');
  expect(r.out.trim().split('\n').length).toBeGreaterThanOrEqual(25);
  expect(r.out).toContain('MESH201\terror\tIST0145,KIA0301\tconflicting gateways');
});
