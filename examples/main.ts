/**
 * `npm run synth` (cdk8s synth): every Bookinfo scenario as its own manifest in dist/, or only
 * the one named by SCENARIO (e.g. `SCENARIO=jason-delay npm run synth`). NAMESPACE overrides the
 * namespace (default: `default`, as upstream). `SCENARIO=operator` writes only the operator's
 * install manifests (OPERATOR_IMAGE sets its image), `SCENARIO=install` only the IstioOperator.
 */
import { App, Chart } from 'cdk8s';
import { join } from 'node:path';
import { CanaryOperator, IstioInstall } from '../constructs/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from './bookinfo/bookinfo.js';

const app = new App();
const wanted = process.env.SCENARIO;
const names = Object.keys(SCENARIOS) as ScenarioName[];
if (wanted && wanted !== 'operator' && wanted !== 'install' && !names.includes(wanted as ScenarioName)) {
  console.error(
    `SCENARIO=${wanted} is not a Bookinfo scenario; choose operator, install or one of: ${names.join(', ')}`,
  );
  process.exit(2);
}
for (const name of wanted ? names.filter((n) => n === wanted) : names) {
  buildScenario(app, name, { namespace: process.env.NAMESPACE });
}
// The CanaryRelease operator's own install manifests (CRD, RBAC, Deployment).
if (!wanted || wanted === 'operator') {
  new CanaryOperator(new Chart(app, 'operator', { disableResourceNameHashes: true }), 'operator', {
    image: process.env.OPERATOR_IMAGE ?? 'ghcr.io/cdk8s-mesh/operator:0.1.0',
  });
}
app.synth();

// The Istio install for `istioctl install -f dist/install/istio.k8s.yaml`, as the reference does
// it: the demo profile without the egress gateway, a NodePort ingress gateway with
// externalTrafficPolicy Local, access logs on. Its own directory keeps it out of
// `kubectl apply -f dist/`.
if (!wanted || wanted === 'install') {
  const install = new App({ outdir: join(process.env.CDK8S_OUTDIR ?? 'dist', 'install') });
  new IstioInstall(new Chart(install, 'istio', { disableResourceNameHashes: true }), 'istio', {
    profile: 'demo',
    egressGateway: { enabled: false },
    ingressGateway: { serviceType: 'NodePort', externalTrafficPolicy: 'Local' },
    accessLogFile: '/dev/stdout',
  });
  install.synth();
}
