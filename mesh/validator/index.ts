export * from './finding.js';
export * from './rules/index.js';
export * from './validate.js';
