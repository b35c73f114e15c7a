/**
 * The rule table: every check the whole-mesh validator runs, with its stable code, severity,
 * the upstream code it mirrors (istioctl analyze `IST…`, Kiali `KIA…`, or Istio's own admission
 * validation), the hint, and the check itself. The checks read only the {@link MeshModel}.
 */
import { schemaRule } from './schema.js';
import { virtualServiceRules } from './virtual-service.js';
import { gatewayRules } from './gateway.js';
import { destinationRuleRules } from './destination-rule.js';
import { mtlsRules } from './mtls.js';
import { authorizationPolicyRules } from './authorization-policy.js';
import { workloadRules } from './workloads.js';
import { envoyFilterRules } from './envoy-filter.js';
import { namespaceRules } from './namespace.js';
import { injectionRule } from './injection.js';
import { sidecarRules } from './sidecar.js';
import { serviceEntryRules } from './service-entry.js';
import { telemetryRules } from './telemetry.js';
import { inputRules } from './inputs.js';
import { protocolRules } from './protocol.js';
import { gatewayApiRules } from './gateway-api.js';
import type { Rule } from '../rule.js';

export type { Report, Rule } from '../rule.js';

/** Every rule, in the order they run (by object kind). */
export const RULES: readonly Rule[] = [
  schemaRule,
  ...virtualServiceRules,
  ...gatewayRules,
  ...destinationRuleRules,
  ...mtlsRules,
  ...authorizationPolicyRules,
  ...workloadRules,
  ...envoyFilterRules,
  ...namespaceRules,
  injectionRule,
  ...inputRules,
  ...sidecarRules,
  ...serviceEntryRules,
  ...telemetryRules,
  ...protocolRules,
  ...gatewayApiRules,
];
