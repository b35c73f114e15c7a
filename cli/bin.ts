#!/usr/bin/env node
// The `cdk8s-mesh` command, as it ships compiled (lib/cli/bin.js).
import { main } from './main.js';

await main();
