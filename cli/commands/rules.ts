/** `cdk8s-mesh rules`: the validator's rules, one a line, or as JSON. */
import { ruleTable } from '../../mesh/validator/validate.js';
import type { CommandContext } from '../io.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit.js';

export async function run({ args, io, json }: CommandContext): Promise<number> {
  if (args.length) throw new UsageError(`rules takes no arguments (got ${args.join(' ')})`);
  const rules = ruleTable();
  if (json) io.out(`${JSON.stringify(rules, null, 2)}\n`);
  else for (const r of rules) io.out(`${r.code}\t${r.severity}\t${r.mirrors.join(',') || '-'}\t${r.title}\n`);
  return EXIT.ok;
}
