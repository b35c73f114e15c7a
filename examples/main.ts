/**
 * `npm run synth` (cdk8s synth): every Bookinfo scenario as its own manifest in dist/, or only
 * the one named by SCENARIO (e.g. `SCENARIO=jason-delay npm run synth`). NAMESPACE overrides the
 * namespace (default: `default`, as upstream).
 */
import { App } from 'cdk8s';
import { buildScenario, SCENARIOS, type ScenarioName } from './bookinfo/bookinfo.js';

const app = new App();
const wanted = process.env.SCENARIO;
const names = Object.keys(SCENARIOS) as ScenarioName[];
if (wanted && !names.includes(wanted as ScenarioName)) {
  console.error(`SCENARIO=${wanted} is not a Bookinfo scenario; choose one of: ${names.join(', ')}`);
  process.exit(2);
}
for (const name of wanted ? [wanted as ScenarioName] : names) {
  buildScenario(app, name, { namespace: process.env.NAMESPACE });
}
app.synth();
