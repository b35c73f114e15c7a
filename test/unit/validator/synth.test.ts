/** The validator at synth time: every Bookinfo scenario is clean, and a bad mesh fails the synth with every finding. */
import { jest } from '@jest/globals';
import { Testing } from 'cdk8s';
import { App, Mesh } from '../../../constructs/index.js';
import { buildModel } from '../../../mesh/model/index.js';
import { validate } from '../../../mesh/validator/index.js';
import * as networking from '../../../imports/networking.istio.io.js';
import { buildScenario, SCENARIOS, type ScenarioName } from '../../../examples/bookinfo/bookinfo.js';

const quiet = () => jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
afterEach(() => jest.restoreAllMocks());

describe('validator on the Bookinfo scenarios', () => {
  test.each(Object.keys(SCENARIOS) as ScenarioName[])('%s has no error', (name) => {
    const { mesh } = buildScenario(Testing.app(), name);
    const errors = validate(mesh.model()).filter((f) => f.severity === 'error');
    expect(errors).toEqual([]);
  });

  test('details-abort reproduces the upstream unreachable rule: a MESH105 warning with the construct path', () => {
    const { mesh } = buildScenario(Testing.app(), 'details-abort');
    const f = validate(mesh.model()).filter((x) => x.code === 'MESH105');
    expect(f).toEqual([
      expect.objectContaining({
        severity: 'warning',
        where: 'details-abort/details/VirtualService',
        object: 'VirtualService default/details',
        message: 'rule #1 is never used: rule #0 before it matches every request',
      }),
    ]);
  });
});

describe('Mesh runs the validator at synth', () => {
  function badMesh() {
    const app = Testing.app();
    const mesh = new Mesh(app, 'shop');
    new App(mesh, 'cart', { image: 'cart:{version}' });
    new networking.VirtualService(mesh, 'Typo', {
      metadata: { name: 'cart' },
      spec: {
        hosts: ['cart'],
        http: [
          { route: [{ destination: { host: 'kart' } }] },
          { route: [{ destination: { host: 'cart', subset: 'v9' } }] },
        ],
      },
    });
    return mesh;
  }

  test('fails if the mesh has errors, listing every one with code, construct path, message and hint', () => {
    quiet();
    const mesh = badMesh();
    let message = '';
    try {
      Testing.synth(mesh);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Validation failed with the following errors');
    expect(message).toContain(
      '[shop] MESH101 (like IST0101, KIA1101) shop/Typo: http[0].route[0]: destination host kart (kart.default.svc.cluster.local) is neither a Service nor a ServiceEntry — name an existing Service',
    );
    expect(message).toContain(
      '[shop] MESH102 (like IST0101, KIA1107) shop/Typo: http[1].route[0]: subset v9 of cart is not defined in DestinationRule default/cart (subsets: v1)',
    );
  });

  test('prints warnings to stderr once and synthesizes', () => {
    const write = quiet();
    const app = Testing.app();
    const mesh = new Mesh(app, 'shop');
    const cart = new App(mesh, 'cart', { image: 'cart:{version}' });
    cart.addRoute({ to: [{ subset: 'v1' }] });
    cart.addRoute({ to: [{ subset: 'v1' }] });
    expect(Testing.synth(mesh).length).toBeGreaterThan(0);
    Testing.synth(mesh);
    const out = write.mock.calls.map((c) => String(c[0])).join('');
    expect(out.match(/shop: 1 warning\(s\)/g)).toHaveLength(1);
    expect(out).toContain(
      'Warning [MESH105 ~IST0130] (VirtualService default/cart shop/cart/VirtualService) rule #1 is never used',
    );
  });

  test('a clean mesh synthesizes without a word on stderr', () => {
    const write = quiet();
    const mesh = new Mesh(Testing.app(), 'shop');
    new App(mesh, 'cart', { image: 'cart:{version}' }).addRoute({ to: [{ subset: 'v1' }] });
    Testing.synth(mesh);
    expect(write).not.toHaveBeenCalled();
  });
});

describe('subsets the App declares with deploy: false', () => {
  test('are an info (MESH306) while no route uses them, so synth prints nothing', () => {
    const { mesh } = buildScenario(Testing.app(), 'platform');
    const f = validate(mesh.model()).filter((x) => x.code === 'MESH301' || x.code === 'MESH306');
    expect(f.map((x) => `${x.code} ${x.severity} ${x.message}`)).toEqual([
      'MESH306 info subset v2 of Service default/details has no workload: the App declares it with deploy: false',
      'MESH306 info subset v2 of Service default/ratings has no workload: the App declares it with deploy: false',
      'MESH306 info subset v2-mysql of Service default/ratings has no workload: the App declares it with deploy: false',
      'MESH306 info subset v2-mysql-vm of Service default/ratings has no workload: the App declares it with deploy: false',
    ]);
  });

  test('stay a warning (MESH301) once a route sends to them: those requests answer 503', () => {
    const { mesh } = buildScenario(Testing.app(), 'ratings-mysql');
    const f = validate(mesh.model()).filter((x) => x.code === 'MESH301');
    expect(f).toEqual([
      expect.objectContaining({
        severity: 'warning',
        where: 'ratings-mysql/ratings/DestinationRule',
        message:
          'subset v2-mysql ({"version":"v2-mysql"}) selects no workload of Service default/ratings; routed to by VirtualService default/ratings http[0].route[0]',
      }),
    ]);
  });

  test('from YAML the intent is unknown: every empty subset is a warning, as istioctl says', () => {
    const { mesh } = buildScenario(Testing.app(), 'platform');
    const objects = Testing.synth(mesh).map((object) => ({ object }));
    const f = validate(buildModel(objects)).filter((x) => x.code === 'MESH301');
    expect(f).toHaveLength(4);
  });
});
