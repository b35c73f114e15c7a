export * from './types.js';
export * from './load.js';
export * from './query.js';
export * from './yaml.js';
