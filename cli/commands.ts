/**
 * Every command of `cdk8s-mesh`: its flags, help text and exit codes, and where its code is. A
 * command's module is imported only when it runs, so `--help`, `rules` and the commands on files
 * never load the Kubernetes client.
 */
import { EXIT, EXPLAIN_EXIT } from './exit.js';
import { PROGRAM, type CommandModule, type Values } from './io.js';

export { PROGRAM } from './io.js';
export type { CommandContext, CommandModule, Values } from './io.js';

/** One flag, as `node:util` parseArgs reads it and `--help` describes it. */
export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's placeholder in the help (`<path>`). */
  readonly arg?: string;
  readonly default?: string;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly usage: readonly string[];
  /** What it does, a few lines. */
  readonly about: string;
  readonly flags: readonly FlagSpec[];
  readonly exits: readonly (readonly [code: number, meaning: string])[];
  /**
   * Whether it talks to a cluster: always (the release commands), with `--kubeconfig` or
   * `--context` (the mesh commands), or never. A cluster needs the Kubernetes client, and that
   * a recent Node.js.
   */
  readonly cluster: 'always' | 'with-kubeconfig' | 'never';
  readonly load: () => Promise<CommandModule>;
}

const output: FlagSpec = {
  name: 'output',
  short: 'o',
  type: 'string',
  arg: 'text|json',
  default: 'text',
  help: 'text for people, json for scripts',
};
const help: FlagSpec = { name: 'help', short: 'h', type: 'boolean', help: 'this help' };
const kubeconfig = (what: string): FlagSpec => ({
  name: 'kubeconfig',
  type: 'string',
  arg: 'path',
  help: `${what}; without it: KUBECONFIG, else ~/.kube/config`,
});
const context: FlagSpec = {
  name: 'context',
  type: 'string',
  arg: 'name',
  help: 'the kubeconfig context to use instead of its current-context',
};
/** Where the mesh commands read the mesh from: files, or a cluster. */
const meshInput: readonly FlagSpec[] = [
  kubeconfig('read the mesh from the cluster of this kubeconfig instead of files'),
  { ...context, help: `${context.help} (reads the cluster, like --kubeconfig)` },
  {
    name: 'namespace',
    short: 'n',
    type: 'string',
    arg: 'ns,…',
    help: 'with --kubeconfig: read only these namespaces (Namespaces themselves are always read)',
  },
];
const calls: FlagSpec = {
  name: 'calls',
  type: 'string',
  arg: 'calls.yaml',
  help: 'the declared call graph: a YAML/JSON list of { from, to, principal?, methods?, paths? } (from/to: app or namespace/app; from may be ingress); default: the *.calls.yaml files synth wrote among the paths',
};
const releaseFlags: readonly FlagSpec[] = [
  {
    name: 'namespace',
    short: 'n',
    type: 'string',
    arg: 'namespace',
    help: "the release's namespace; default: the context's namespace, else default",
  },
  kubeconfig('the cluster to talk to'),
  context,
  output,
  help,
];

const TOOL_FAILURE: readonly [number, string] = [
  EXIT.toolFailure,
  'the tool failed: bad arguments, an unreadable path, an unreachable cluster, Node.js too old for a cluster',
];
const PARSE_ERROR: readonly [number, string] = [
  EXIT.parseError,
  'some input could not be parsed (and nothing else failed); the rest was read',
];

const INPUT_ABOUT =
  'Reads YAML/JSON files (several documents each; JSON: an object, an array or a List) and directories (recursively, *.yaml, *.yml, *.json), or a live cluster with --kubeconfig/--context. A *.calls.yaml file among them is a declared call graph (cdk8s synth writes one per Mesh), not objects. Relative paths resolve from the directory you run the command in.';

const CONTROL_EXITS: readonly (readonly [number, string])[] = [
  [EXIT.ok, 'written, or already written and not yet acted on'],
  TOOL_FAILURE,
  [EXIT.refused, 'refused: the release is not in a state the command applies to (the message says why)'],
  [EXIT.notFound, 'the release, or the CanaryRelease kind, does not exist'],
];

const control = (name: 'promote' | 'resume' | 'abort', summary: string, about: string): CommandSpec => ({
  name,
  summary,
  usage: [
    `${PROGRAM} ${name} <name> [-n <namespace>] [--kubeconfig <path>] [--context <name>] [-o text|json]`,
  ],
  about: `${about}\nIt writes an annotation the operator reads, decided from the status as read and written with that object's resourceVersion: if the operator moved on in between, it reads and decides again.`,
  flags: releaseFlags,
  exits: CONTROL_EXITS,
  cluster: 'always',
  load: () => import('./commands/control.js'),
});

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'lint',
    summary: 'validate a mesh: every rule of `rules`, on files or a cluster (like istioctl analyze)',
    usage: [
      `${PROGRAM} lint <file|dir>… [-o text|json] [--failure-threshold error|warning|info] [--suppress CODE,…] [--calls calls.yaml]`,
      `${PROGRAM} lint --kubeconfig <path> [--context <name>] [-n <ns,…>] [flags]`,
    ],
    about: `Validates the whole mesh and prints each finding with its code, severity, where it is (file:Kind/name:line) and a hint.\n${INPUT_ABOUT}`,
    flags: [
      ...meshInput,
      output,
      {
        name: 'failure-threshold',
        type: 'string',
        arg: 'error|warning|info',
        default: 'error',
        help: 'the lowest severity that makes the exit code 79',
      },
      { name: 'suppress', type: 'string', arg: 'CODE,…', help: 'rule codes not to report (MESH105,IST0130)' },
      calls,
      help,
    ],
    exits: [
      [EXIT.ok, 'no finding at or above the failure threshold'],
      TOOL_FAILURE,
      PARSE_ERROR,
      [EXIT.findings, 'findings at or above the failure threshold'],
    ],
    cluster: 'with-kubeconfig',
    load: () => import('./commands/lint.js'),
  },
  {
    name: 'explain',
    summary: 'where one request goes and what happens to it (route, subset, mTLS, authorization)',
    usage: [
      `${PROGRAM} explain <file|dir>… --host <host> [--from <caller>] [--port <n>] [--method <m>] [--path <p>] [-H 'name: value']… [--hops] [-o text|json]`,
      `${PROGRAM} explain --kubeconfig <path> [--context <name>] [-n <ns,…>] --host <host> [flags]`,
    ],
    about: `Simulates one HTTP request from the mesh model: the VirtualService and rule that match, the destinations with their weights, subset labels and workloads, fault, timeout, retries, mirror, the mTLS of the hop and the authorization decision. --hops follows it hop by hop through iptables and both sidecars. The exit code tells how it ends.\n${INPUT_ABOUT}`,
    flags: [
      ...meshInput,
      {
        name: 'from',
        type: 'string',
        arg: 'caller',
        help: 'who calls: a workload (productpage, ns/productpage), a SPIFFE principal, ingress (the ingress gateway) or outside (no sidecar, the default)',
      },
      {
        name: 'host',
        type: 'string',
        arg: 'host',
        help: 'required: the host called (a Service short name, an FQDN, or from ingress the Host header)',
      },
      { name: 'port', type: 'string', arg: 'n', help: "the port called; default: the Service's first port" },
      { name: 'method', type: 'string', arg: 'm', help: 'the HTTP method; default GET' },
      { name: 'path', type: 'string', arg: 'p', help: "the request's path (and query); default /" },
      {
        name: 'header',
        short: 'H',
        type: 'string',
        multiple: true,
        arg: "'name: value'",
        help: 'a request header; repeat for more',
      },
      { name: 'hops', type: 'boolean', help: 'the path hop by hop: iptables, sidecars, transport, callee' },
      output,
      help,
    ],
    exits: [
      [
        EXPLAIN_EXIT.delivered,
        'delivered: to a workload, to a ServiceEntry host outside the mesh, or answered by the route itself (redirect, direct response)',
      ],
      TOOL_FAILURE,
      [EXPLAIN_EXIT.denied, 'denied by an AuthorizationPolicy (403)'],
      [
        EXPLAIN_EXIT.refused,
        'refused: an mTLS mismatch or a reset connection, an injected abort, or a delay that outlasts the timeout',
      ],
      [
        EXPLAIN_EXIT.noRoute,
        'no route: no rule matches (404), no Service or ServiceEntry for the host, an undefined subset, or no workload behind it',
      ],
      [EXIT.parseError, 'delivered, but some input could not be parsed'],
    ],
    cluster: 'with-kubeconfig',
    load: () => import('./commands/explain.js'),
  },
  {
    name: 'rules',
    summary: "the validator's rules: code, severity, the istioctl/Kiali codes they mirror, title",
    usage: [`${PROGRAM} rules [-o text|json]`],
    about:
      'Lists every rule lint applies, one per line: code, severity, the upstream codes it mirrors, title.',
    flags: [output, help],
    exits: [[EXIT.ok, 'always'], TOOL_FAILURE],
    cluster: 'never',
    load: () => import('./commands/rules.js'),
  },
  {
    name: 'reachability',
    summary:
      'who can call whom under the AuthorizationPolicies; with --calls, the declared calls that differ',
    usage: [
      `${PROGRAM} reachability <file|dir>… [--calls calls.yaml] [--list|--matrix] [-o text|json]`,
      `${PROGRAM} reachability --kubeconfig <path> [--context <name>] [-n <ns,…>] [--calls calls.yaml] [--list|--matrix] [-o text|json]`,
    ],
    about: `Prints who may call whom: a matrix of callers and callees, or a list with one line per caller and Service it may reach (port, protocol, what is allowed and the policy that decides), the form it takes when the matrix is wider than the terminal. With a declared call graph, a declared call that the policies deny is MESH506, a principal the policies allow that no declared call uses is MESH507.\n${INPUT_ABOUT}`,
    flags: [
      ...meshInput,
      calls,
      {
        name: 'list',
        type: 'boolean',
        help: 'one line per caller → Service it may reach (also the denied declared calls); default when the matrix is wider than the terminal',
      },
      { name: 'matrix', type: 'boolean', help: 'the matrix, however wide' },
      output,
      help,
    ],
    exits: [
      [EXIT.ok, 'no declared call is denied'],
      TOOL_FAILURE,
      PARSE_ERROR,
      [EXIT.findings, 'a declared call is denied (MESH506)'],
    ],
    cluster: 'with-kubeconfig',
    load: () => import('./commands/reachability.js'),
  },
  {
    name: 'graph',
    summary: 'the mesh as an SVG: services, versions, routes with weights, allowed calls, mTLS',
    usage: [
      `${PROGRAM} graph <file|dir>… [--calls calls.yaml] [--out mesh.svg] [--title <title>]`,
      `${PROGRAM} graph --kubeconfig <path> [--context <name>] [-n <ns,…>] [--out mesh.svg] [--title <title>]`,
    ],
    about: `Draws the mesh, locally, as one SVG file.\n${INPUT_ABOUT}`,
    flags: [
      ...meshInput,
      calls,
      {
        name: 'out',
        type: 'string',
        arg: 'file.svg',
        help: 'write the SVG here (relative to the directory you run in); default: stdout',
      },
      {
        name: 'title',
        type: 'string',
        arg: 'title',
        help: 'the title drawn on top; default: the file names',
      },
      help,
    ],
    exits: [[EXIT.ok, 'drawn'], TOOL_FAILURE, PARSE_ERROR],
    cluster: 'with-kubeconfig',
    load: () => import('./commands/graph.js'),
  },
  {
    name: 'status',
    summary: 'CanaryReleases: phase, step, weights, success rate and p99 against the SLOs (--watch follows)',
    usage: [
      `${PROGRAM} status [<name>] [-n <namespace> | -A] [--kubeconfig <path>] [--context <name>] [-o text|json] [--watch] [--interval 2s]`,
    ],
    about:
      'Without a name: a table of the releases of the namespace (-A: of all namespaces). With a name: everything about it, measurements, conditions and history. --watch polls: a terminal is redrawn in place, a pipe gets one line (or JSON object) per change.',
    flags: [
      ...releaseFlags.filter((f) => f.name !== 'help'),
      { name: 'all-namespaces', short: 'A', type: 'boolean', help: 'list the releases of every namespace' },
      {
        name: 'watch',
        short: 'w',
        type: 'boolean',
        help: 'keep polling; with a name, end when the release ends',
      },
      { name: 'interval', type: 'string', arg: 'duration', default: '2s', help: 'how often --watch polls' },
      help,
    ],
    exits: [
      [EXIT.ok, 'shown (with --watch and a name: the release Succeeded, or the watch was stopped)'],
      TOOL_FAILURE,
      [EXIT.notFound, 'the release, or the CanaryRelease kind, does not exist'],
      [EXIT.releaseFailed, 'with --watch and a name: the release ended RolledBack or Invalid'],
    ],
    cluster: 'always',
    load: () => import('./commands/status.js'),
  },
  {
    name: 'dashboard',
    summary: 'a local web page: the live mesh graph with traffic, and the releases with promote/resume/abort',
    usage: [
      `${PROGRAM} dashboard [-n <ns,…>] [--kubeconfig <path>] [--context <name>] [--prometheus-url <url>] [--port 7460]`,
    ],
    about:
      "Serves a page on 127.0.0.1 with the user's kubeconfig and RBAC: the mesh graph of the namespaces (routes with their weights, allowed calls, mTLS; rps, error rate and p99 per arrow from Prometheus), a click on a box for its VirtualServices, policies and findings; every CanaryRelease with its chart against the SLOs, its history and promote/resume/abort (the same writes as those commands); and an explain form answered from the live objects. It updates from watches as the cluster changes. Ctrl-C stops it.",
    flags: [
      {
        name: 'namespace',
        short: 'n',
        type: 'string',
        arg: 'ns,…',
        help: "the namespaces to show; default: the context's namespace, else default",
      },
      kubeconfig('the cluster to show'),
      context,
      {
        name: 'prometheus-url',
        type: 'string',
        arg: 'url',
        help: "Prometheus with Istio's standard metrics, for the traffic on the arrows",
      },
      {
        name: 'port',
        type: 'string',
        arg: 'port',
        default: '7460',
        help: 'the port on 127.0.0.1; 0 for any free one',
      },
      help,
    ],
    exits: [[EXIT.ok, 'stopped with Ctrl-C'], TOOL_FAILURE],
    cluster: 'always',
    load: () => import('./commands/dashboard.js'),
  },
  control(
    'promote',
    'open the gate a CanaryRelease waits at (a manual pause, or the promotion approval)',
    'Opens the gate the release waits at: a pause step without a duration, or the approval of the promotion.',
  ),
  control(
    'resume',
    "promote, or end a drift hold (writes the operator's weights back)",
    "Like promote, and also ends a drift hold (driftPolicy Hold, after someone else changed the route's weights): the operator writes its weights back and goes on.",
  ),
  control(
    'abort',
    'roll a CanaryRelease back now',
    'Requests the abort of the current generation: the operator sends all traffic to stable at its next reconcile.',
  ),
];

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The parseArgs options of a command. */
export function parseOptions(spec: CommandSpec) {
  return Object.fromEntries(
    spec.flags.map((f) => [
      f.name,
      {
        type: f.type,
        ...(f.short ? { short: f.short } : {}),
        ...(f.multiple ? { multiple: true } : {}),
        ...(f.default !== undefined ? { default: f.default } : {}),
      },
    ]),
  ) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string }>;
}

/** Lines of two columns, the first padded to the widest (help layout). */
function columns(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}   ${b}`);
}

/** `cdk8s-mesh <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const flag = (f: FlagSpec): [string, string] => [
    `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.arg ? ` <${f.arg}>` : ''}`,
    `${f.help}${f.default !== undefined ? ` (default: ${f.default})` : ''}${f.multiple ? ' (repeatable)' : ''}`,
  ];
  return [
    `${PROGRAM} ${spec.name}: ${spec.summary}`,
    '',
    'usage:',
    ...spec.usage.map((u) => `  ${u}`),
    '',
    ...spec.about.split('\n'),
    '',
    'flags:',
    ...columns(spec.flags.map(flag)),
    '',
    'exit codes:',
    ...columns([...spec.exits].sort((a, b) => a[0] - b[0]).map(([c, m]) => [String(c), m])),
    ...(spec.cluster === 'never'
      ? []
      : [
          '',
          spec.cluster === 'always'
            ? `It talks to a cluster, which needs Node.js >= ${KUBE_CLIENT_NODE}.`
            : `Reading a cluster (--kubeconfig, --context) needs Node.js >= ${KUBE_CLIENT_NODE}; files do not.`,
        ]),
    '',
  ].join('\n');
}

/** `cdk8s-mesh --help`. */
export function overviewHelp(): string {
  return [
    `${PROGRAM}: lint, explain and operate an Istio mesh built with cdk8s-mesh`,
    '',
    `usage: ${PROGRAM} <command> [arguments] [flags]`,
    '',
    'commands:',
    ...columns(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    `Run \`${PROGRAM} <command> --help\` for a command's arguments, flags and exit codes.`,
    'Relative paths resolve from the directory you run the command in (under npm run, the one you ran npm in).',
    `Commands that talk to a cluster (status, promote, resume, abort; the others with --kubeconfig) need Node.js >= ${KUBE_CLIENT_NODE}.`,
    '',
    'exit codes (lint, as istioctl analyze): 0 clean, 79 findings, 65 unparsable input, 1 tool failure;',
    '  explain: 0 delivered, 2 denied, 3 refused, 4 no route; status/promote/resume/abort: 3 refused, 4 not found, 5 release failed',
    '',
  ].join('\n');
}

/**
 * The Node.js the Kubernetes client needs: client-node 2.x makes its requests with undici 8,
 * which requires it (on older versions it crashes while loading).
 */
export const KUBE_CLIENT_NODE = '22.19';

/** Whether `version` (`20.20.2`) is at least `min` (`22.19`). */
export function nodeAtLeast(version: string, min: string): boolean {
  const v = version.replace(/^v/, '').split('.').map(Number);
  const m = min.split('.').map(Number);
  for (let i = 0; i < m.length; i++) {
    const a = v[i] ?? 0;
    const b = m[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Whether this invocation of `spec` talks to a cluster. */
export function needsCluster(spec: CommandSpec, values: Values): boolean {
  return (
    spec.cluster === 'always' ||
    (spec.cluster === 'with-kubeconfig' && (values.kubeconfig !== undefined || values.context !== undefined))
  );
}
