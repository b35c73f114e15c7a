import { Chart, Testing } from 'cdk8s';
import { IstioInstall, type IstioInstallProps } from '../../../constructs/istio-install.js';

function synth(props: IstioInstallProps) {
  const chart = new Chart(Testing.app(), 'install');
  new IstioInstall(chart, 'istio', props);
  return Testing.synth(chart) as {
    apiVersion: string;
    kind: string;
    metadata: object;
    spec: Record<string, unknown>;
  }[];
}

describe('IstioInstall', () => {
  test('the reference install: demo profile without the egress gateway, NodePort ingress with externalTrafficPolicy Local', () => {
    const [iop] = synth({
      profile: 'demo',
      egressGateway: { enabled: false },
      ingressGateway: { serviceType: 'NodePort', externalTrafficPolicy: 'Local' },
      mesh: { accessLogging: true, traceSampling: 100 },
      outboundTrafficPolicy: 'REGISTRY_ONLY',
    });
    expect(iop).toStrictEqual({
      apiVersion: 'install.istio.io/v1alpha1',
      kind: 'IstioOperator',
      metadata: { name: 'installed-state', namespace: 'istio-system' },
      spec: {
        profile: 'demo',
        meshConfig: {
          accessLogFile: '/dev/stdout',
          enableTracing: true,
          defaultConfig: { tracing: { sampling: 100 } },
          outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
        },
        components: {
          ingressGateways: [
            {
              name: 'istio-ingressgateway',
              enabled: true,
              k8s: { service: { type: 'NodePort', externalTrafficPolicy: 'Local' } },
            },
          ],
          egressGateways: [{ name: 'istio-egressgateway', enabled: false }],
        },
      },
    });
  });

  test('defaults: the default profile and nothing else', () => {
    expect(synth({})[0]!.spec).toStrictEqual({ profile: 'default' });
  });

  test('revision, hub, tag, ports with targetPort defaulting to the port, and the explicit escape hatch', () => {
    const [iop] = synth({
      revision: 'canary',
      hub: 'docker.io/istio',
      tag: '1.30.3',
      ingressGateway: {
        ports: [
          { name: 'http2', port: 80, targetPort: 8080, nodePort: 30080 },
          { name: 'https', port: 443 },
        ],
      },
      unvalidatedSpec: { values: { pilot: { autoscaleEnabled: false } } },
    });
    expect(iop!.spec).toStrictEqual({
      profile: 'default',
      revision: 'canary',
      hub: 'docker.io/istio',
      tag: '1.30.3',
      components: {
        ingressGateways: [
          {
            name: 'istio-ingressgateway',
            enabled: true,
            k8s: {
              service: {
                ports: [
                  { name: 'http2', port: 80, targetPort: 8080, nodePort: 30080 },
                  { name: 'https', port: 443, targetPort: 443 },
                ],
              },
            },
          },
        ],
      },
      values: { pilot: { autoscaleEnabled: false } },
    });
  });

  test('fails if an unknown field is given outside the escape hatch', () => {
    expect(() => synth({ profile: 'demo', values: {} } as IstioInstallProps)).toThrow(
      /install\/istio: invalid props\n {2}- \(props\): unknown field "values": remove it or fix its spelling/,
    );
  });

  test('fails if externalTrafficPolicy is set on a ClusterIP gateway, or the profile is unknown', () => {
    expect(() =>
      synth({
        profile: 'tiny' as IstioInstallProps['profile'],
        ingressGateway: { serviceType: 'ClusterIP', externalTrafficPolicy: 'Local' },
      }),
    ).toThrow(
      /- profile: Invalid option: expected one of .*\n {2}- ingressGateway\.externalTrafficPolicy: externalTrafficPolicy applies to LoadBalancer and NodePort Services only/,
    );
  });
});
