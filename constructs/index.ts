export * from './app.js';
export * from './calls.js';
export * from './call-graph-file.js';
export * from './client.js';
export * from './external-service.js';
export * from './canary-operator.js';
export * from './canary-release.js';
export * from './istio-install.js';
export * from './ingress-gateway.js';
export * from './mesh.js';
export * from './mesh-scope.js';
export * from './peer.js';
export * from './pod-security.js';
export * from './routing.js';
export * from './traffic-policy.js';
export * from './validation.js';
export * from './workload.js';
export * from './zero-trust-policy.js';
// The mesh model, the validator and the request simulator, as namespaces: their object types
// (VirtualService, MtlsMode, …) would collide with the constructs' names.
export * as model from '../mesh/model/index.js';
export * as validator from '../mesh/validator/index.js';
export * as simulator from '../mesh/explain/index.js';
