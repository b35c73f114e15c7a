/**
 * buildModel keeps Istio fields as the YAML writes them. The model's Istio types come from the
 * generated interfaces in imports/, whose TypeScript names differ from the YAML keys in two places
 * (mirrorPercent, consecutive5XxErrors): these tests read those fields by their YAML keys, so the
 * type check fails if the model's types drift back to the generated names.
 */
import { parseYamlObjects } from '../../../mesh/model/yaml.js';
import { buildModel, type HttpRoute, type OutlierDetection } from '../../../mesh/model/index.js';

const yaml = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - name: primary
      mirror: { host: reviews, subset: shadow }
      mirror_percent: 20
      route:
        - destination: { host: reviews, subset: v1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    outlierDetection: { consecutive5xxErrors: 3 }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy:
        portLevelSettings:
          - port: { number: 9080 }
            outlierDetection: { consecutive5xxErrors: 1 }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec:
  mtls: { mode: STRICT }
  portLevelMtls:
    "9080": { mode: PERMISSIVE }
`;

describe('buildModel reads Istio fields by their YAML keys', () => {
  const model = buildModel(parseYamlObjects(yaml, 'mesh.yaml').objects);

  test('a VirtualService route keeps mirror_percent', () => {
    const route: HttpRoute = model.virtualServices[0]!.http[0]!;
    expect(route.mirror_percent).toBe(20);
    expect(route.mirror).toStrictEqual({ host: 'reviews', subset: 'shadow' });
  });

  test('a DestinationRule keeps consecutive5xxErrors, at the rule and at a subset port', () => {
    const dr = model.destinationRules[0]!;
    const rule: OutlierDetection | undefined = dr.trafficPolicy?.outlierDetection;
    expect(rule?.consecutive5xxErrors).toBe(3);
    expect(dr.trafficPolicy?.tls?.mode).toBe('ISTIO_MUTUAL');
    const port = dr.subsets[0]!.trafficPolicy?.portLevelSettings?.[0];
    expect(port?.outlierDetection?.consecutive5xxErrors).toBe(1);
  });

  test('PeerAuthentication modes are the generated enum values', () => {
    const pa = model.peerAuthentications[0]!;
    expect([pa.mode, pa.portLevelMtls['9080']]).toStrictEqual(['STRICT', 'PERMISSIVE']);
  });
});
