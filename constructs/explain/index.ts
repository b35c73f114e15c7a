export * from './authz.js';
export * from './explain.js';
