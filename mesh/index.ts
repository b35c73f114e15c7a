/**
 * The mesh model, the validator and the request simulator (`cdk8s-mesh/model`): load plain
 * Kubernetes, Istio and Gateway API objects (YAML or a live cluster), lint them, and ask where a
 * request goes and whether it is allowed. No cdk8s here.
 */
export * from './model/index.js';
export * from './validator/index.js';
export * from './explain/index.js';
