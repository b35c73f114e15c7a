export * from './finding.js';
export * from './rules.js';
export * from './validate.js';
