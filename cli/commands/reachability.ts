/**
 * `cdk8s-mesh reachability`: who can call whom, from the policies, as a matrix or (`--list`, or
 * when the matrix is wider than the terminal) a list; and, given the declared call graph
 * (`--calls`, or the `*.calls.yaml` synth wrote), the differences, which are the validator's
 * MESH506 and MESH507.
 */
import { formatReachability, formatReachabilityList, reachability } from '../../mesh/explain/reachability.js';
import type { CommandContext } from '../io.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit.js';
import { inputOptions, loadMesh, reportInvalid, reportProblems } from '../input.js';

export async function run({ args, values, io, json }: CommandContext): Promise<number> {
  if (values.list && values.matrix) throw new UsageError('give --list or --matrix, not both');
  const { model, problems } = await loadMesh(io, args, {
    ...inputOptions(values),
    ...(typeof values.calls === 'string' ? { calls: values.calls } : {}),
  });
  reportProblems(io, problems);
  const invalid = reportInvalid(io, model);
  const r = reachability(model);
  if (json) {
    io.out(
      `${JSON.stringify(
        {
          callers: r.callers,
          callees: r.callees,
          cells: r.cells.map(({ tls, ...c }) => ({ ...c, from: c.from.name, mutual: tls?.mutual })),
          differences: [
            ...r.denied.map((d) => ({
              code: 'MESH506',
              from: d.call.from.name,
              to: d.call.to.name,
              request: `${d.method} ${d.path}`,
              reason: d.result.reason,
            })),
            ...r.undeclared.map((u) => ({
              code: 'MESH507',
              policy: `${u.policy.namespace}/${u.policy.name}`,
              principal: u.principal,
              callees: u.callees,
            })),
          ],
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const matrix = formatReachability(r);
    const tooWide = Math.max(...matrix.split('\n', 2).map((l) => l.length)) > (io.columns ?? 120);
    io.out(`${values.list || (tooWide && !values.matrix) ? formatReachabilityList(r) : matrix}\n`);
  }
  if (r.denied.length) return EXIT.findings;
  return problems.length || invalid ? EXIT.parseError : EXIT.ok;
}
