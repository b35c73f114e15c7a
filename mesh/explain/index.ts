export * from './authz.js';
export * from './explain.js';
export * from './path.js';
export * from './graph.js';
export * from './reachability.js';
