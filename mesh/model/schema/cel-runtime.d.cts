// The types of ./cel-runtime.cjs.
import type * as Cel from '@bufbuild/cel';
import type * as CelExt from '@bufbuild/cel/ext';

/** Types of the CommonJS build that loadCel returns (the ES module build's are distinct to TypeScript). */
export type { CelEnv, CelInput } from '@bufbuild/cel';

/** The evaluator and its extensions (the package's CommonJS build; Node caches it after the first call). */
export declare function loadCel(): { readonly cel: typeof Cel; readonly ext: typeof CelExt };
