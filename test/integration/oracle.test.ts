/**
 * explain against Istio's own config generation (the oracle, test/harness/oracle.ts): every
 * Bookinfo scenario, and seeded generated meshes, compared field by field. A disagreement fails
 * with the smallest case that still shows it. `npm run bench -- oracle` runs thousands.
 */
import { Testing } from 'cdk8s';
import type { ExplainRequest } from '../../mesh/explain/index.js';
import { buildModel, type KubeObject, type MeshModel } from '../../mesh/model/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../examples/bookinfo/bookinfo.js';
import { cluster } from '../harness/cluster.js';
import { generateMesh } from '../harness/oracle-meshes.js';
import { compareMesh, formatCase, minimalCase, Oracle, oracleBinary } from '../harness/oracle.js';

/** Generated meshes per `npm test`; the bench runs thousands. */
const MESHES = Number(process.env.CDK8S_MESH_ORACLE_MESHES ?? 40);
const SEED = Number(process.env.CDK8S_MESH_ORACLE_SEED ?? 1);

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start(oracleBinary(cluster.bin));
});
afterAll(async () => {
  await oracle?.stop();
});

const load = (objects: readonly KubeObject[]) => buildModel(objects.map((object) => ({ object })));

/** Every caller (with and without a sidecar, the ingress gateway) to every Service, jason or not. */
function bookinfoRequests(model: MeshModel): ExplainRequest[] {
  const requests: ExplainRequest[] = [];
  for (const from of ['productpage', 'reviews', 'outside'])
    for (const s of model.services)
      for (const headers of [{}, { 'end-user': 'jason' }] as Record<string, string>[])
        requests.push({ from, host: s.name, headers });
  for (const g of model.gateways)
    for (const s of g.servers)
      for (const h of s.hosts)
        requests.push({
          from: 'ingress',
          host: h.includes('*') ? 'bookinfo.example.com' : h.replace(/^.*\//, ''),
          port: s.port.number,
          path: '/productpage',
        });
  return requests;
}

describe('explain agrees with Istio 1.30’s generated config', () => {
  test.each(Object.keys(SCENARIOS) as ScenarioName[])('Bookinfo %s', async (name) => {
    const model = buildScenario(Testing.app(), name).mesh.model();
    const compared = await compareMesh(oracle, model, bookinfoRequests(model));
    const problems = compared.flatMap(({ call, comparison }) =>
      comparison.disagreements.map(
        (d) =>
          `${JSON.stringify(call.request)} ${d.field}: explain ${JSON.stringify(d.explain)}, Istio ${JSON.stringify(d.istio)}`,
      ),
    );
    expect(problems).toEqual([]);
    // Routing and inbound fields were compared, not skipped.
    const fields = new Set(compared.flatMap(({ comparison }) => comparison.compared));
    expect([...fields]).toEqual(
      expect.arrayContaining(['route', 'clusters', 'inbound-plaintext', 'inbound-mtls']),
    );
  });

  test(`${MESHES} generated meshes from seed ${SEED}`, async () => {
    let calls = 0;
    for (let seed = SEED; seed < SEED + MESHES; seed++) {
      const mesh = generateMesh(seed);
      const compared = await compareMesh(oracle, load(mesh.objects), mesh.requests);
      calls += compared.length;
      const first = compared.find(({ comparison }) => comparison.disagreements.length > 0);
      if (first) {
        const field = first.comparison.disagreements[0]!.field;
        const min = await minimalCase(oracle, mesh.objects, first.call.request, field, load);
        throw new Error(
          `explain disagrees with Istio on generated mesh seed ${seed} (smallest case):\n${formatCase(min.objects, first.call.request, min.disagreement)}`,
        );
      }
    }
    expect(calls).toBeGreaterThanOrEqual(MESHES * 3);
  });
});
