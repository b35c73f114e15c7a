/**
 * `cdk8s-mesh`'s command line: finds the command, parses its flags, answers `--help`, checks
 * that a command which talks to a cluster runs on a Node.js that can load the Kubernetes client,
 * then imports the command's module (./commands/<name>.ts) and runs it. Commands and their flags,
 * help and exit codes are listed in ./commands.ts; the exit codes in ./exit.ts.
 */
import { parseArgs } from 'node:util';
import {
  COMMANDS,
  KUBE_CLIENT_NODE,
  PROGRAM,
  commandHelp,
  commandNamed,
  needsCluster,
  nodeAtLeast,
  overviewHelp,
  parseOptions,
  type CommandSpec,
  type Values,
} from './commands.js';
import { CommandError, UsageError } from './errors.js';
import { EXIT } from './exit.js';
import type { Io } from './io.js';
import { redactText } from '../api/redact.js';

export { EXIT, EXPLAIN_EXIT } from './exit.js';
export type { Io } from './io.js';

const seeHelp = (spec?: CommandSpec) => `see \`${PROGRAM}${spec ? ` ${spec.name}` : ''} --help\``;

/** A usage error of `spec`: the message, its usage lines and where the help is. */
function usageError(io: Io, spec: CommandSpec, message: string): number {
  io.err(`${PROGRAM} ${spec.name}: ${message}\nusage: ${spec.usage.join(`\n       `)}\n${seeHelp(spec)}\n`);
  return EXIT.toolFailure;
}

/** parseArgs' error as a line naming the flag. */
function flagError(e: Error & { code?: string }): string {
  // parseArgs quotes the flag as `'--foo'`, or with a value as `'-o, --output <value>'`.
  const quoted = /'(-[^']*)'/.exec(e.message)?.[1];
  const flag = quoted?.replace(/^-\w, /, '').replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? e.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(e.message)
        ? `${flag ?? 'a flag'} needs a value`
        : `${flag ?? 'a flag'} takes no value`;
    default:
      return e.message;
  }
}

/** Runs one command line (without the program name); returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(overviewHelp());
    return EXIT.toolFailure;
  }
  if (first === '-h' || first === '--help' || (first === 'help' && rest.length === 0)) {
    io.out(overviewHelp());
    return EXIT.ok;
  }
  if (first === 'help') {
    const spec = commandNamed(rest[0]!);
    if (!spec) return unknownCommand(io, rest[0]!);
    io.out(commandHelp(spec));
    return EXIT.ok;
  }
  if (first.startsWith('-')) {
    io.err(`${PROGRAM}: give the command first (got the flag ${first}); ${seeHelp()}\n`);
    return EXIT.toolFailure;
  }
  const spec = commandNamed(first);
  if (!spec) return unknownCommand(io, first);
  // -h/--help anywhere (before `--`) asks for help, whatever else the line holds.
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '-h' || a === '--help')) {
    io.out(commandHelp(spec));
    return EXIT.ok;
  }

  let values: Values;
  let args: string[];
  try {
    // Every flag of a command is a string or a boolean; `multiple` ones are lists of strings.
    ({ values, positionals: args } = parseArgs({
      args: rest,
      options: parseOptions(spec),
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] });
  } catch (e) {
    return usageError(io, spec, flagError(e as Error));
  }
  if (values.help) {
    io.out(commandHelp(spec));
    return EXIT.ok;
  }
  if (values.output !== undefined && values.output !== 'text' && values.output !== 'json')
    return usageError(io, spec, `--output must be text or json (got ${String(values.output)})`);

  if (needsCluster(spec, values)) {
    const version = io.nodeVersion ?? process.versions.node;
    if (!nodeAtLeast(version, KUBE_CLIENT_NODE)) {
      const how =
        spec.cluster === 'always'
          ? spec.name
          : `${spec.name} ${values.kubeconfig !== undefined ? '--kubeconfig' : '--context'}`;
      io.err(
        `${PROGRAM} ${how}: needs Node.js >= ${KUBE_CLIENT_NODE} (this is ${version}): the Kubernetes client it uses requires it\n`,
      );
      return EXIT.toolFailure;
    }
  }

  try {
    const mod = await spec.load();
    return await mod.run({ command: spec.name, args, values, io, json: values.output === 'json' });
  } catch (e) {
    if (e instanceof UsageError) return usageError(io, spec, e.message);
    if (e instanceof CommandError) {
      io.err(`${PROGRAM} ${spec.name}: ${redactText(e.message)}\n`);
      return e.exitCode;
    }
    io.err(`${PROGRAM} ${spec.name}: ${redactText((e as Error)?.message ?? String(e))}\n`);
    return EXIT.toolFailure;
  }
}

function unknownCommand(io: Io, name: string): number {
  io.err(
    `${PROGRAM}: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')}); ${seeHelp()}\n`,
  );
  return EXIT.toolFailure;
}

/** The process entry: runs `argv` and sets the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A closed pipe (`cdk8s-mesh lint … | head`) ends the output, not the process with a stack trace.
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
