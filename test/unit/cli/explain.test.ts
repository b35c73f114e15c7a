/** `cdk8s-mesh explain`'s exit codes: one fixture per way a request ends. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXPLAIN_EXIT_OF } from '../../../cli/exit.js';
import { EXIT, EXPLAIN_EXIT } from '../../../cli/main.js';
import { cli, tempDirEach } from './helpers.js';
import { ap, baseMesh, pa, principal, se, vs } from '../validator/fixtures.js';

const tmp = tempDirEach('cli-explain-');
const meshFile = (objects: object[]) => {
  const p = join(tmp(), 'mesh.yaml');
  writeFileSync(p, [...baseMesh(), ...objects].map((o) => stringify(o)).join('---\n'));
  return p;
};
const fromProductpage = ['--from', 'productpage', '--host', 'reviews'];

describe('explain exit codes', () => {
  test.each<[string, object[], string[], number, string]>([
    ['delivered', [], fromProductpage, EXPLAIN_EXIT.delivered, 'delivered'],
    [
      'denied by a DENY policy',
      [
        ap('deny-productpage', {
          selector: { matchLabels: { app: 'reviews' } },
          action: 'DENY',
          rules: [{ from: [{ source: { principals: [principal('bookinfo-productpage')] } }] }],
        }),
      ],
      fromProductpage,
      EXPLAIN_EXIT.denied,
      'denied 403',
    ],
    [
      'refused: STRICT mTLS and a plain-text client',
      [pa('default', { mtls: { mode: 'STRICT' } })],
      ['--host', 'reviews.default.svc.cluster.local'],
      EXPLAIN_EXIT.refused,
      'refused',
    ],
    [
      'refused: a fault that aborts every request',
      [
        vs('reviews', {
          hosts: ['reviews'],
          http: [
            {
              fault: { abort: { httpStatus: 503, percentage: { value: 100 } } },
              route: [{ destination: { host: 'reviews', subset: 'v1' } }],
            },
          ],
        }),
      ],
      fromProductpage,
      EXPLAIN_EXIT.refused,
      'fault 503',
    ],
    [
      'no route: no rule matches (404)',
      [
        vs('reviews', {
          hosts: ['reviews'],
          http: [
            {
              match: [{ headers: { 'end-user': { exact: 'jason' } } }],
              route: [{ destination: { host: 'reviews', subset: 'v2' } }],
            },
          ],
        }),
      ],
      fromProductpage,
      EXPLAIN_EXIT.noRoute,
      'no-route 404',
    ],
    [
      'no route: an undefined subset',
      [
        vs('reviews', {
          hosts: ['reviews'],
          http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }],
        }),
      ],
      fromProductpage,
      EXPLAIN_EXIT.noRoute,
      'unavailable 503',
    ],
    [
      'delivered: a ServiceEntry host outside the mesh',
      [
        se('api', {
          hosts: ['api.example.com'],
          location: 'MESH_EXTERNAL',
          ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
          resolution: 'DNS',
        }),
      ],
      ['--from', 'productpage', '--host', 'api.example.com', '--port', '443'],
      EXPLAIN_EXIT.delivered,
      'left-mesh',
    ],
  ])('%s', async (_name, objects, argv, code, outcome) => {
    const r = await cli('explain', meshFile(objects), ...argv);
    expect(r.err).toBe('');
    expect(r.code).toBe(code);
    expect(r.out).toContain(`\n  outcome:         ${outcome}\n`);
    const j = await cli('explain', meshFile(objects), ...argv, '-o', 'json');
    expect(j.code).toBe(code);
    expect((JSON.parse(j.out) as { outcome: { result: string } }).outcome.result).toBe(outcome.split(' ')[0]);
  });

  test('delivered with unparsable input is 65; a refusal wins over it', async () => {
    const broken = join(tmp(), 'broken.yaml');
    writeFileSync(broken, 'a: [\n');
    expect((await cli('explain', meshFile([]), broken, ...fromProductpage)).code).toBe(EXIT.parseError);
    const strict = meshFile([pa('default', { mtls: { mode: 'STRICT' } })]);
    expect((await cli('explain', strict, broken, '--host', 'reviews.default.svc.cluster.local')).code).toBe(
      EXPLAIN_EXIT.refused,
    );
  });

  test('the codes are distinct from 1 and 65, and every outcome has one', () => {
    expect(new Set(Object.values(EXPLAIN_EXIT)).size).toBe(4);
    for (const c of Object.values(EXPLAIN_EXIT)) expect([EXIT.toolFailure, EXIT.parseError]).not.toContain(c);
    expect(Object.keys(EXPLAIN_EXIT_OF).sort()).toEqual([
      'answered-by-proxy',
      'delivered',
      'denied',
      'fault',
      'left-mesh',
      'no-route',
      'refused',
      'timeout',
      'unavailable',
    ]);
  });

  test('fails with exit 1 if the caller is unknown, without a double prefix', async () => {
    const r = await cli('explain', meshFile([]), '--from', 'nobody', '--host', 'reviews');
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toMatch(/^cdk8s-mesh explain: no workload 'nobody' in the mesh; /);
  });
});
