/**
 * Egress as Istio answers it: a host outside the cluster that no ServiceEntry registers passes
 * through under ALLOW_ANY and answers 502 (BlackHoleCluster) under REGISTRY_ONLY, from the mesh
 * config or the caller's Sidecar; a ServiceEntry host is routed to it; the graph draws it.
 */
import { explain, formatExplanation } from '../../../mesh/explain/index.js';
import { meshGraphSvg } from '../../../mesh/explain/graph.js';
import { buildModel, type KubeObject } from '../../../mesh/model/index.js';
import { baseMesh, sc, se } from '../validator/fixtures.js';

const model = (...extra: KubeObject[]) => buildModel([...baseMesh(), ...extra].map((object) => ({ object })));
const registryOnly: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'istio', namespace: 'istio-system' },
  data: { mesh: 'outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n' },
};
const payments = se('payments', {
  hosts: ['api.payments.example.com'],
  ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
  resolution: 'DNS',
  location: 'MESH_EXTERNAL',
});
const call = (m: ReturnType<typeof model>, host: string) =>
  explain(m, { from: 'productpage', host, port: 443 }).destinations[0]!;

describe('a call to a host outside the cluster', () => {
  test("passes through under Istio's default ALLOW_ANY", () => {
    const d = call(model(), 'api.example.com');
    expect(d.egress).toEqual({ result: 'passthrough', policy: 'ALLOW_ANY', decidedBy: "Istio's default" });
    expect(d.problem).toBeUndefined();
    expect(
      formatExplanation(explain(model(), { from: 'productpage', host: 'api.example.com', port: 443 })),
    ).toContain(
      "egress:      PassthroughCluster: in no ServiceEntry, forwarded as addressed (ALLOW_ANY, Istio's default)",
    );
  });

  test('fails with 502 BlackHoleCluster under REGISTRY_ONLY from the mesh config', () => {
    const d = call(model(registryOnly), 'api.example.com');
    expect(d.egress).toEqual({
      result: 'blackhole',
      policy: 'REGISTRY_ONLY',
      decidedBy: 'mesh config ConfigMap/istio-system/istio',
    });
    expect(d.problem).toBe(
      'api.example.com is in no ServiceEntry and the outbound traffic policy is REGISTRY_ONLY (mesh config ConfigMap/istio-system/istio): the sidecar sends it to BlackHoleCluster (502)',
    );
  });

  test("the caller's Sidecar outboundTrafficPolicy wins over the mesh config", () => {
    const open = sc('default', {
      egress: [{ hosts: ['*/*'] }],
      outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    });
    expect(call(model(registryOnly, open), 'api.example.com').egress).toEqual({
      result: 'passthrough',
      policy: 'ALLOW_ANY',
      decidedBy: 'Sidecar default/default',
    });
    const closed = sc('default', {
      egress: [{ hosts: ['./*'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    });
    expect(call(model(closed), 'api.example.com').egress?.result).toBe('blackhole');
  });

  test('a ServiceEntry host is routed to the ServiceEntry under either policy', () => {
    for (const m of [model(payments), model(payments, registryOnly)]) {
      const d = call(m, 'api.payments.example.com');
      expect(d.egress).toEqual({ result: 'serviceEntry', serviceEntry: 'default/payments' });
      expect(d.problem).toBeUndefined();
    }
  });

  test('the graph draws an external service as its own box', async () => {
    const svg = await meshGraphSvg(model(payments));
    expect(svg).toContain('>api.payments.example.com</text>');
    expect(svg).toContain('>ServiceEntry default/payments</text>');
    expect(svg).toContain('>HTTPS 443</text>');
    expect(svg).toContain('data-kind="external"');
    // without the ServiceEntry no external box is drawn (the legend still explains one)
    expect(await meshGraphSvg(model())).not.toContain('data-kind="external"');
  });
});
