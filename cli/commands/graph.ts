/** `cdk8s-mesh graph`: the mesh as an SVG (services, versions, routes with weights, allowed calls, mTLS), drawn locally. */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { meshGraphSvg } from '../../mesh/explain/graph.js';
import type { CommandContext } from '../io.js';
import { CommandError } from '../errors.js';
import { EXIT } from '../exit.js';
import { inputOptions, loadMesh, reportInvalid, reportProblems } from '../input.js';
import { resolvePath, userDir } from '../io.js';

export async function run({ args, values, io }: CommandContext): Promise<number> {
  const { model, problems } = await loadMesh(io, args, {
    ...inputOptions(values),
    ...(typeof values.calls === 'string' ? { calls: values.calls } : {}),
  });
  reportProblems(io, problems);
  const invalid = reportInvalid(io, model);
  const title = typeof values.title === 'string' ? values.title : undefined;
  const svg = await meshGraphSvg(model, {
    title: title ?? (args.map((p) => basename(p)).join(', ') || 'cluster'),
  });
  const out = typeof values.out === 'string' ? values.out : undefined;
  if (out !== undefined) {
    try {
      writeFileSync(resolvePath(io, out), svg);
    } catch (e) {
      throw new CommandError(
        `cannot write ${out}${out.startsWith('/') ? '' : ` (relative to ${userDir(io)})`}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: check that its directory exists and is writable`,
        EXIT.toolFailure,
      );
    }
    io.err(`wrote ${out}\n`);
  } else io.out(svg);
  return problems.length || invalid ? EXIT.parseError : EXIT.ok;
}
