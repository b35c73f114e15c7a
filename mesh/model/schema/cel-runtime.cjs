/* global exports, require */
// @bufbuild/cel, loaded when ./cel.ts evaluates its first rule. Only the Gateway API kinds carry
// CEL rules, and importing the evaluator (with @bufbuild/protobuf) takes a quarter to half a
// second, which `lint`, `explain`, `reachability` and `graph` of a mesh without such objects should
// not pay at start-up. Plain CommonJS, so that the load is synchronous (the model is built
// synchronously) from the ES module build, the CommonJS build, tsx and Jest alike, none of which
// compiles it: scripts/build.sh copies it beside cel.js. Its types: ./cel-runtime.d.cts.
'use strict';

/** The evaluator and its extensions (the package's CommonJS build; Node caches it after the first call). */
exports.loadCel = function loadCel() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use is the point
  return { cel: require('@bufbuild/cel'), ext: require('@bufbuild/cel/ext') };
};
