/**
 * cdk8s-mesh's command line:
 *
 *   cli lint <files|dirs…> [--output text|json] [--failure-threshold error|warning|info] [--suppress CODE,…]
 *   cli lint --kubeconfig <path> [--namespace ns,…]
 *   cli explain <files|dirs…> | --kubeconfig <path>  --from <caller> --host <host> [--port n] [--method m] [--path p] [--header 'k: v']… [--hops] [--output json]
 *   cli rules [--output json]
 *   cli reachability <files|dirs…> | --kubeconfig <path> [--calls calls.yaml] [--output json]
 *   cli graph <files|dirs…> | --kubeconfig <path> [--calls calls.yaml] [--out mesh.svg] [--title t]
 *   cli status [name] [-n ns | -A] [--kubeconfig p] [--context c] [--output json] [--watch] [--interval 2s]
 *   cli promote|resume|abort <name> [-n ns] [--kubeconfig p] [--context c] [--output json]
 *
 * Exit codes follow `istioctl analyze`: 0 nothing at or above the failure threshold, 79 findings
 * at or above it, 65 some input could not be parsed (and nothing else failed), 1 the tool failed
 * (bad arguments, unreadable path, unreachable cluster). The release commands (./release.ts) add
 * 3 refused (the release is not in a state the command applies to), 4 not found, 5 a watched
 * release ended RolledBack or Invalid.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ExplainError, explain, formatExplanation } from '../mesh/explain/explain.js';
import { explainPath, formatPath } from '../mesh/explain/path.js';
import { buildModel } from '../mesh/model/load.js';
import type { SourcedObject } from '../mesh/model/types.js';
import type { ParseProblem } from '../mesh/model/yaml.js';
import { atLeast, formatFinding, type Severity } from '../mesh/validator/finding.js';
import { ruleTable, summarize, validate } from '../mesh/validator/validate.js';
import { CommandError, UsageError } from './errors.js';
import { collectFiles, loadFiles } from './files.js';
import { graphCommand } from './graph.js';
import { loadFromCluster } from './kube.js';
import { reachabilityCommand } from './reachability.js';
import { RELEASE_EXIT, controlCommand, statusCommand, type ReleaseOptions } from './release.js';

export const EXIT = { ok: 0, toolFailure: 1, ...RELEASE_EXIT, parseError: 65, findings: 79 } as const;

/** Where the CLI writes; a test passes its own. */
export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** stdout is a terminal: `status --watch` redraws in place. @default false */
  readonly tty?: boolean;
  /** Terminal width. @default 120 */
  readonly columns?: number;
  /** Ends `status --watch`. */
  readonly signal?: AbortSignal;
}

const USAGE = `usage:
  cli lint <files|dirs…> [--output text|json] [--failure-threshold error|warning|info] [--suppress CODE,…]
  cli lint --kubeconfig <path> [--namespace ns,…]
  cli explain (<files|dirs…> | --kubeconfig <path>) --from <caller> --host <host> [--port n] [--method m] [--path p] [--header 'k: v']… [--hops] [--output json]
  cli rules [--output json]
  cli reachability (<files|dirs…> | --kubeconfig <path>) [--calls calls.yaml] [--output json]   who can call whom; 79 if a declared call is denied
  cli graph (<files|dirs…> | --kubeconfig <path>) [--calls calls.yaml] [--out mesh.svg] [--title t]   the mesh as an SVG
  cli status [name] [-n ns | -A] [--kubeconfig p] [--context c] [--output json] [--watch] [--interval 2s]
  cli promote <name> [-n ns] [--kubeconfig p] [--context c] [--output json]   open the gate the release waits at
  cli resume <name> …                                                          promote, or end a drift hold
  cli abort <name> …                                                           roll the release back now
exit codes (as istioctl analyze): 0 clean, 79 findings at or above the threshold, 65 unparsable input, 1 tool failure;
  release commands: 3 refused (not in a state the command applies to), 4 not found, 5 watched release rolled back or invalid`;

const OPTIONS = {
  output: { type: 'string', short: 'o', default: 'text' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'failure-threshold': { type: 'string', default: 'error' },
  suppress: { type: 'string' },
  from: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  method: { type: 'string' },
  path: { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  // `explain --hops`: the sidecar path, hop by hop (`--path` is the request's path).
  hops: { type: 'boolean' },
  // status, promote, resume, abort
  context: { type: 'string' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  watch: { type: 'boolean', short: 'w' },
  interval: { type: 'string' },
  // reachability and graph: the declared call graph; graph's output file and title.
  calls: { type: 'string' },
  out: { type: 'string' },
  title: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Input {
  readonly objects: SourcedObject[];
  readonly problems: ParseProblem[];
  readonly notes: string[];
}

async function load(
  paths: string[],
  kubeconfig: string | undefined,
  namespace: string | undefined,
): Promise<Input> {
  if (kubeconfig) {
    if (paths.length) throw new UsageError('give files or --kubeconfig, not both');
    const { objects, notes } = await loadFromCluster(kubeconfig, namespace?.split(',').filter(Boolean));
    return { objects, problems: [], notes };
  }
  if (!paths.length) throw new UsageError('no files or directories given');
  const { objects, problems } = loadFiles(collectFiles(paths));
  return { objects, problems, notes: [] };
}

/** Runs one command; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true }));
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}\n`);
    return EXIT.toolFailure;
  }
  const [command, ...paths] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(`${USAGE}\n`);
    return values.help ? EXIT.ok : EXIT.toolFailure;
  }
  const json = values.output === 'json';
  if (values.output !== 'json' && values.output !== 'text') {
    io.err(`--output must be text or json (got ${values.output})\n`);
    return EXIT.toolFailure;
  }
  try {
    switch (command) {
      case 'rules': {
        const rules = ruleTable();
        if (json) io.out(`${JSON.stringify(rules, null, 2)}\n`);
        else
          for (const r of rules)
            io.out(`${r.code}\t${r.severity}\t${r.mirrors.join(',') || '-'}\t${r.title}\n`);
        return EXIT.ok;
      }
      case 'lint':
        return await lint(paths, values, io, json);
      case 'explain':
        return await explainCommand(paths, values, io, json);
      case 'reachability':
        return await reachabilityCommand(paths, { ...meshInput(values), json }, io);
      case 'graph':
        return await graphCommand(
          paths,
          { ...meshInput(values), out: str(values, 'out'), title: str(values, 'title') },
          io,
        );
      case 'status':
        return await statusCommand(paths, releaseOptions(values, json), io);
      case 'promote':
      case 'resume':
      case 'abort':
        return await controlCommand(command, paths, releaseOptions(values, json), io);
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (e) {
    if (e instanceof UsageError) io.err(`${e.message}\n${USAGE}\n`);
    else if (e instanceof ExplainError) io.err(`${e.message}\n`);
    else if (e instanceof CommandError) {
      io.err(`cli ${command}: ${e.message}\n`);
      return e.exitCode;
    } else io.err(`cli ${command}: ${(e as Error).message}\n`);
    return EXIT.toolFailure;
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

const str = (values: Values, k: string) =>
  typeof values[k] === 'string' ? (values[k] as string) : undefined;
const meshInput = (values: Values) => ({
  kubeconfig: str(values, 'kubeconfig'),
  namespace: str(values, 'namespace'),
  calls: str(values, 'calls'),
});

function releaseOptions(values: Values, json: boolean): ReleaseOptions {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  return {
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    namespace: str('namespace'),
    allNamespaces: values['all-namespaces'] === true,
    watch: values.watch === true,
    interval: str('interval'),
    json,
  };
}

async function lint(paths: string[], values: Values, io: Io, json: boolean): Promise<number> {
  const threshold = String(values['failure-threshold']).toLowerCase() as Severity;
  if (!['error', 'warning', 'info'].includes(threshold))
    throw new UsageError(`--failure-threshold must be error, warning or info (got ${threshold})`);
  const input = await load(
    paths,
    values.kubeconfig as string | undefined,
    values.namespace as string | undefined,
  );
  const model = buildModel(input.objects);
  const suppress = String(values.suppress ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const findings = validate(model, { suppress });
  const notes = [
    ...input.notes,
    ...model.skipped.map((s) => `${s.where}: kind ${s.kind} is not part of the mesh model: skipped`),
  ];
  if (json) {
    io.out(
      `${JSON.stringify({ findings, parseErrors: input.problems, notes, summary: summarize(findings) }, null, 2)}\n`,
    );
  } else {
    for (const p of input.problems) io.err(`Error [parse] ${p.file}:${p.line}: ${p.message} - skipping\n`);
    for (const n of notes) io.err(`Note: ${n}\n`);
    for (const f of findings) io.out(`${formatFinding(f)}\n`);
    const s = summarize(findings);
    io.out(
      findings.length
        ? `${s.error} error(s), ${s.warning} warning(s), ${s.info} info(s) in ${model.virtualServices.length + model.destinationRules.length + model.gateways.length + model.authorizationPolicies.length + model.peerAuthentications.length} Istio object(s)\n`
        : `✔ No validation issues found${input.problems.length ? ` (but ${input.problems.length} document(s) could not be parsed)` : ''}.\n`,
    );
  }
  if (findings.some((f) => atLeast(f.severity, threshold))) return EXIT.findings;
  return input.problems.length ? EXIT.parseError : EXIT.ok;
}

async function explainCommand(paths: string[], values: Values, io: Io, json: boolean): Promise<number> {
  if (!values.host) throw new UsageError('explain needs --host');
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UsageError(`--header must be 'name: value' (got ${h})`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !Number.isInteger(port))
    throw new UsageError(`--port must be a number (got ${values.port})`);
  const input = await load(
    paths,
    values.kubeconfig as string | undefined,
    values.namespace as string | undefined,
  );
  for (const p of input.problems) io.err(`Error [parse] ${p.file}:${p.line}: ${p.message} - skipping\n`);
  const request = {
    host: String(values.host),
    ...(values.from ? { from: String(values.from) } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.method ? { method: String(values.method) } : {}),
    ...(values.path ? { path: String(values.path) } : {}),
    headers,
  };
  if (values.hops) {
    const p = explainPath(buildModel(input.objects), request);
    io.out(json ? `${JSON.stringify(p, null, 2)}\n` : `${formatPath(p)}\n`);
    return input.problems.length ? EXIT.parseError : EXIT.ok;
  }
  const e = explain(buildModel(input.objects), request);
  io.out(json ? `${JSON.stringify(e, null, 2)}\n` : `${formatExplanation(e)}\n`);
  return input.problems.length ? EXIT.parseError : EXIT.ok;
}

/** The process entry: runs `argv` and sets the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A closed pipe (`cli lint … | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  process.exitCode = await run(argv, {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    tty: process.stdout.isTTY === true,
    columns: process.stdout.columns,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
