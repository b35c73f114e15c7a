#!/usr/bin/env node
// The `cdk8s-mesh` command, as it ships compiled (lib/cli/bin.js). It loads only the command it
// runs (./main.ts imports each command's module when it runs) and keeps to syntax that Node.js
// 18 parses, so that on an old Node a command that needs a newer one can say so.
import module from 'node:module';
import { main } from './main.js';

// Node >= 22.1 caches compiled code between runs (in the OS temp dir): a warm start is faster.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

await main();
