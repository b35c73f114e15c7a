/**
 * `npm run synth` (cdk8s synth): every Bookinfo scenario as its own manifest in dist/, or only
 * the one named by SCENARIO (e.g. `SCENARIO=jason-delay npm run synth`). NAMESPACE overrides the
 * namespace (default: `default`, as upstream). `SCENARIO=operator` writes only the operator's
 * install manifests (OPERATOR_IMAGE sets its image).
 */
import { App, Chart } from 'cdk8s';
import { CanaryOperator } from '../constructs/index.js';
import { buildScenario, SCENARIOS, type ScenarioName } from './bookinfo/bookinfo.js';

const app = new App();
const wanted = process.env.SCENARIO;
const names = Object.keys(SCENARIOS) as ScenarioName[];
if (wanted && wanted !== 'operator' && !names.includes(wanted as ScenarioName)) {
  console.error(
    `SCENARIO=${wanted} is not a Bookinfo scenario; choose operator or one of: ${names.join(', ')}`,
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
