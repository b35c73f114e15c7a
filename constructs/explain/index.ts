export * from './authz.js';
export * from './explain.js';
export * from './path.js';
