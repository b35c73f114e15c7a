/**
 * `npm run synth` (cdk8s synth): every Bookinfo scenario as its own manifest in dist/, the Online
 * Boutique (`dist/boutique.k8s.yaml`), or only the one named by SCENARIO (e.g.
 * `SCENARIO=jason-delay npm run synth`, `SCENARIO=boutique`). NAMESPACE overrides the namespace
 * (default: `default`, as upstream). `SCENARIO=operator` writes only the operator's install
 * manifests (OPERATOR_IMAGE sets its image), `SCENARIO=install` only the IstioOperator. Each
 * Mesh's declared call graph goes next to its manifest (`dist/<name>.calls.yaml`).
 */
import { App, Chart } from 'cdk8s';
import { join } from 'node:path';
import { CanaryOperator, IstioInstall, writeCallGraphs } from '../constructs/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from './bookinfo/bookinfo.js';
import { boutiqueWithCanary } from './boutique/boutique.js';

const app = new App();
const wanted = process.env.SCENARIO;
const names = Object.keys(SCENARIOS) as ScenarioName[];
const others = ['operator', 'install', 'boutique'];
if (wanted && !others.includes(wanted) && !names.includes(wanted as ScenarioName)) {
  console.error(
    `SCENARIO=${wanted} is not a Bookinfo scenario; choose ${others.join(', ')} or one of: ${names.join(', ')}`,
  );
  process.exit(2);
}
for (const name of wanted ? names.filter((n) => n === wanted) : names) {
  buildScenario(app, name, { namespace: process.env.NAMESPACE });
}
// Online Boutique: gRPC services, a TCP datastore, a load generator, external APIs, a canary.
if (!wanted || wanted === 'boutique')
  boutiqueWithCanary(app, 'boutique', { namespace: process.env.NAMESPACE });
// The CanaryRelease operator's own install manifests (CRD, RBAC, Deployment).
if (!wanted || wanted === 'operator') {
  new CanaryOperator(new Chart(app, 'operator', { disableResourceNameHashes: true }), 'operator', {
    image: process.env.OPERATOR_IMAGE ?? 'ghcr.io/cdk8s-mesh/operator:0.1.0',
  });
}
app.synth();
writeCallGraphs(app);

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
