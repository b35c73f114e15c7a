#!/usr/bin/env node
// The `cdk8s-mesh` command: loads the TypeScript CLI through tsx (the project ships no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main();
