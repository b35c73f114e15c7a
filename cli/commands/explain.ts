/**
 * `cdk8s-mesh explain`: one request through the mesh. The exit code is how the simulated path
 * ends (EXPLAIN_EXIT in ../exit.ts), so a script can tell delivered from denied, refused and no route.
 */
import { ExplainError, formatExplanation } from '../../mesh/explain/explain.js';
import { explainPath, formatPath } from '../../mesh/explain/path.js';
import { buildModel } from '../../mesh/model/load.js';
import type { CommandContext } from '../io.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT, EXPLAIN_EXIT, EXPLAIN_EXIT_OF } from '../exit.js';
import { inputOptions, loadInput, reportInvalid, reportProblems } from '../input.js';

export async function run({ args, values, io, json }: CommandContext): Promise<number> {
  if (typeof values.host !== 'string') throw new UsageError('explain needs --host <host>');
  // Own keys only (Object.fromEntries), so `-H '__proto__: x'` is a header like any other.
  const headers: Record<string, string> = Object.fromEntries(
    ((values.header as string[] | undefined) ?? []).map((h) => {
      const i = h.indexOf(':');
      if (i <= 0) throw new UsageError(`--header must be 'name: value' (got ${h})`);
      return [h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()];
    }),
  );
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`--port must be a port number (got ${String(values.port)})`);
  const input = await loadInput(io, args, inputOptions(values));
  reportProblems(io, input.problems);
  const request = {
    host: values.host,
    ...(typeof values.from === 'string' ? { from: values.from } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(typeof values.method === 'string' ? { method: values.method } : {}),
    ...(typeof values.path === 'string' ? { path: values.path } : {}),
    headers,
  };
  const model = buildModel(input.objects);
  const invalid = reportInvalid(io, model);
  let path;
  try {
    path = explainPath(model, request);
  } catch (e) {
    // A caller the model does not have: the message names it and the callers there are.
    if (e instanceof ExplainError)
      throw new CommandError(e.message.replace(/^explain: /, ''), EXIT.toolFailure);
    throw e;
  }
  const o = path.outcome;
  if (values.hops) io.out(json ? `${JSON.stringify(path, null, 2)}\n` : `${formatPath(path)}\n`);
  else if (json) io.out(`${JSON.stringify({ ...path.explanation, outcome: o }, null, 2)}\n`);
  else
    io.out(
      `${formatExplanation(path.explanation)}\n  outcome:         ${o.result}${o.status !== undefined ? ` ${o.status}` : ''}\n`,
    );
  const code = EXPLAIN_EXIT_OF[o.result];
  if (code !== EXPLAIN_EXIT.delivered) return code;
  return input.problems.length || invalid ? EXIT.parseError : EXIT.ok;
}
