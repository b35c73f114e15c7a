export * from './app.js';
export * from './ingress-gateway.js';
export * from './mesh.js';
export * from './peer.js';
export * from './routing.js';
export * from './traffic-policy.js';
export * from './validation.js';
export * from './zero-trust-policy.js';
