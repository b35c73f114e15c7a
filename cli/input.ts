/**
 * The one input loader of the mesh commands (lint, explain, reachability, graph): YAML/JSON files
 * and directories, or a live cluster, into sourced objects, and from them the model (with a
 * declared call graph from `--calls`). Paths resolve from the user's directory (./io.ts) and are
 * shown as typed. A path that cannot be read is a tool failure that names it and says what to
 * do; a document that cannot be parsed, or a path that is not a regular file (a FIFO, a device),
 * is a problem: reported with its file (and line), skipped, and the rest is read. Files larger than
 * MAX_INPUT_BYTES are skipped the same way; any number of documents or List items is read in time
 * and stack linear in their count.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  type Stats,
} from 'node:fs';
import { extname, join } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { isCallGraphFile, type CallGraphEntry } from '../mesh/model/call-graph.js';
import { buildModel } from '../mesh/model/load.js';
import { principalOf } from '../mesh/model/query.js';
import type { DeclaredCall, KubeObject, MeshModel, SourcedObject } from '../mesh/model/types.js';
import { parseYamlObjects } from '../mesh/model/yaml.js';
import { CommandError, UsageError } from './errors.js';
import { EXIT } from './exit.js';
import { resolvePath, userDir, type Io } from './io.js';

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Input that was skipped: a document that does not parse, or a path that is not a regular file. */
export interface InputProblem {
  /** The path as the user typed it (a file found in a directory: the directory as typed, joined). */
  readonly file: string;
  /** 1-based line of the problem; absent when the file was not read. */
  readonly line?: number;
  readonly message: string;
}

export interface Input {
  readonly objects: SourcedObject[];
  readonly problems: InputProblem[];
  /** Things the user should know that are not problems (a kind the cluster does not serve). */
  readonly notes: string[];
  /** Declared call graph files found among the paths (`*.calls.yaml`, as synth writes them). */
  readonly callGraphs?: readonly { readonly file: string; readonly text: string }[];
}

/** Where the mesh comes from: files, or the cluster of a kubeconfig. */
export interface InputOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** With a cluster: the namespaces to read, comma-separated. */
  readonly namespace?: string;
}

/** The parts of the flags every mesh command shares. */
export function inputOptions(values: Readonly<Record<string, unknown>>): InputOptions {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const o: { kubeconfig?: string; context?: string; namespace?: string } = {};
  if (str('kubeconfig') !== undefined) o.kubeconfig = str('kubeconfig');
  if (str('context') !== undefined) o.context = str('context');
  if (str('namespace') !== undefined) o.namespace = str('namespace');
  return o;
}

const fileKind = (st: Stats) =>
  st.isFIFO()
    ? 'a FIFO (named pipe)'
    : st.isCharacterDevice()
      ? 'a character device'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isSocket()
          ? 'a socket'
          : 'a special file';

/** A read failure as a tool failure that names the path and says what to do. */
export function unreadable(io: Io, shown: string, e: unknown): CommandError {
  const code = (e as NodeJS.ErrnoException).code;
  const from = shown.startsWith('/') ? '' : ` (relative to ${userDir(io)})`;
  const what =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? `does not exist${from}: check the path`
      : code === 'EACCES' || code === 'EPERM'
        ? `cannot be read: permission denied${from}: check its permissions`
        : `cannot be read${from}: ${(e as Error).message}`;
  return new CommandError(`${shown} ${what}`, EXIT.toolFailure);
}

interface Found {
  readonly path: string;
  readonly shown: string;
}

/** The files to read under the given paths (directories recursively, sorted, dot entries skipped). */
function collect(io: Io, paths: readonly string[], problems: InputProblem[]): Found[] {
  const out: Found[] = [];
  const walk = (path: string, shown: string, explicit: boolean) => {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (e) {
      throw unreadable(io, shown, e);
    }
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (e) {
        throw unreadable(io, shown, e);
      }
      for (const e of entries) if (!e.startsWith('.')) walk(join(path, e), join(shown, e), false);
      return;
    }
    if (!explicit && !EXTENSIONS.has(extname(path))) return;
    if (!st.isFile()) {
      problems.push({ file: shown, message: `${fileKind(st)}, not a regular file` });
      return;
    }
    out.push({ path, shown });
  };
  for (const p of paths) walk(resolvePath(io, p), p, true);
  return out;
}

/** The largest file lint, explain, reachability and graph read (a larger one is skipped with a message). */
export const MAX_INPUT_BYTES = 128 * 1024 * 1024;

/**
 * A regular file's text, at most `MAX_INPUT_BYTES`, or why it was not read. Opened without
 * blocking and checked again once open (a path swapped for a FIFO or device after the walk is not
 * read), and read in chunks up to the limit (a file that says it is empty but streams, as some
 * in /proc do, is bounded too).
 */
function readBounded(io: Io, path: string, shown: string, limit = MAX_INPUT_BYTES): string | InputProblem {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw unreadable(io, shown, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { file: shown, message: `${fileKind(st)}, not a regular file` };
    const tooLarge = (size: string): InputProblem => ({
      file: shown,
      message: `${size}, larger than the ${limit / 1024 / 1024} MiB read from one file: split it into several files`,
    });
    if (st.size > limit) return tooLarge(`${(st.size / 1024 / 1024).toFixed(1)} MiB`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, 0) + 1, 1 << 20, limit + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) return tooLarge(`more than ${limit / 1024 / 1024} MiB`);
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (e) {
    throw unreadable(io, shown, e);
  } finally {
    closeSync(fd);
  }
}

/** The 1-based line of a JSON.parse error (`… at position 19 (line 2 column 3)`), else 1. */
function jsonErrorLine(text: string, message: string): number {
  const line = /\(line (\d+) column \d+\)/.exec(message);
  if (line) return Number(line[1]);
  const pos = /at position (\d+)/.exec(message);
  return pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
}

/** Every document of every file under `paths`. JSON files may hold an object, an array, or a List. */
export function readFiles(io: Io, paths: readonly string[], limit = MAX_INPUT_BYTES): Input {
  const objects: SourcedObject[] = [];
  const problems: InputProblem[] = [];
  const callGraphs: { file: string; text: string }[] = [];
  for (const { path, shown } of collect(io, paths, problems)) {
    const text = readBounded(io, path, shown, limit);
    if (typeof text !== 'string') {
      problems.push(text);
      continue;
    }
    if (isCallGraphFile(path)) {
      callGraphs.push({ file: shown, text });
      continue;
    }
    if (extname(path) === '.json') {
      try {
        const v = JSON.parse(text) as KubeObject | KubeObject[];
        for (const o of Array.isArray(v) ? v : [v]) objects.push({ object: o, origin: { file: shown } });
      } catch (e) {
        const message = (e as Error).message;
        problems.push({ file: shown, line: jsonErrorLine(text, message), message });
      }
      continue;
    }
    // One push per item: spreading 125,000 documents into push() overflows the call stack.
    const parsed = parseYamlObjects(text, shown);
    for (const o of parsed.objects) objects.push(o);
    for (const p of parsed.problems) problems.push(p);
  }
  return { objects, problems, notes: [], callGraphs };
}

/** Reads files and directories, or with `--kubeconfig`/`--context` the cluster. */
export async function loadInput(io: Io, paths: readonly string[], o: InputOptions): Promise<Input> {
  if (o.kubeconfig !== undefined || o.context !== undefined) {
    if (paths.length)
      throw new UsageError(
        `give files or --kubeconfig/--context, not both (got ${paths.join(' ')} and ${o.kubeconfig !== undefined ? '--kubeconfig' : '--context'})`,
      );
    // Only now: the Kubernetes client is large and needs a recent Node.js.
    const { loadFromCluster } = await import('./kube.js');
    const { objects, notes } = await loadFromCluster(io, o);
    return { objects, problems: [], notes };
  }
  if (!paths.length)
    throw new UsageError('no files or directories given (or --kubeconfig to read a cluster)');
  return readFiles(io, paths);
}

/** Prints the problems of the input on stderr, istioctl's way, one a line. */
export function reportProblems(io: Io, problems: readonly InputProblem[]): void {
  for (const p of problems)
    io.err(
      p.line === undefined
        ? `Error [input] ${p.file}: ${p.message} - skipping\n`
        : `Error [parse] ${p.file}:${p.line}: ${p.message} - skipping\n`,
    );
}

/**
 * Objects left out of the model because they do not fit their schema (MESH001 in `lint`), one line
 * each on stderr: commands other than lint answer from the rest. Returns how many there were.
 */
export function reportInvalid(io: Io, model: MeshModel): number {
  for (const o of model.invalid)
    io.err(
      `Error [MESH001] (${o.kind} ${o.namespace}/${o.name} ${o.where}) ${o.problems[0]}${o.problems.length > 1 ? ` (and ${o.problems.length - 1} more)` : ''} - left out (run lint for every problem)\n`,
    );
  return model.invalid.length;
}

/**
 * The declared calls of a `--calls` file (a list, or `{ calls: [...] }`), each caller's principal
 * taken from its workloads' ServiceAccount in the model.
 */
export function readCalls(
  model: MeshModel,
  text: string,
  file: string,
  defaultNs = 'default',
): DeclaredCall[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    const line = e instanceof YAMLParseError ? `:${e.linePos?.[0]?.line ?? 1}` : '';
    throw new CommandError(
      `${file}${line}: ${(e as Error).message.split('\n')[0]}: fix the YAML of the call graph`,
      EXIT.toolFailure,
    );
  }
  const list = Array.isArray(doc) ? doc : (doc as { calls?: unknown })?.calls;
  if (!Array.isArray(list))
    throw new CommandError(
      `${file}: expected a list of { from, to, principal?, methods?, paths?, ports? } (or calls: [...])`,
      EXIT.toolFailure,
    );
  return list.map((raw, i) => {
    const c = raw as CallGraphEntry;
    if (typeof c?.from !== 'string' || typeof c?.to !== 'string')
      throw new CommandError(
        `${file}: calls[${i}] needs from and to (app or namespace/app)`,
        EXIT.toolFailure,
      );
    const split = (s: string) => (s.includes('/') ? (s.split('/', 2) as [string, string]) : [defaultNs, s]);
    const [toNs, to] = split(c.to);
    if (
      c.ports !== undefined &&
      (!Array.isArray(c.ports) || !c.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535))
    )
      throw new CommandError(
        `${file}: calls[${i}].ports is ${JSON.stringify(c.ports)}: expected a list of container port numbers (1-65535), or leave it out for the Service's first port`,
        EXIT.toolFailure,
      );
    const rest = {
      ...(c.methods ? { methods: c.methods } : {}),
      ...(c.paths ? { paths: c.paths } : {}),
      ...(c.ports ? { ports: c.ports } : {}),
    };
    if (c.from === 'ingress' || c.from === 'istio-ingressgateway') {
      const ns = model.rootNamespace;
      return {
        from: {
          name: 'istio-ingressgateway',
          namespace: ns,
          principal: principalOf(model, ns, 'istio-ingressgateway-service-account'),
        },
        to: { name: to!, namespace: toNs! },
        ...rest,
      };
    }
    const [fromNs, from] = split(c.from);
    // A file synth wrote names the principal: the caller need not be among the files read.
    if (typeof c.principal === 'string')
      return {
        from: { name: from!, namespace: fromNs!, principal: c.principal },
        to: { name: to!, namespace: toNs! },
        ...rest,
      };
    const w = model.workloads.find(
      (x) => x.namespace === fromNs && (x.podLabels.app === from || x.name === from),
    );
    if (!w)
      throw new CommandError(
        `${file}: calls[${i}]: no workload ${fromNs}/${from} in the mesh: check the name (app label or Deployment name)`,
        EXIT.toolFailure,
      );
    return {
      from: { name: from!, namespace: fromNs!, principal: principalOf(model, fromNs!, w.serviceAccountName) },
      to: { name: to!, namespace: toNs! },
      ...rest,
    };
  });
}

export interface MeshInput {
  readonly model: MeshModel;
  readonly problems: readonly InputProblem[];
  readonly notes: readonly string[];
}

/**
 * The model of the input, with the call graph of `calls` (a file path) when given, else of the
 * call graph files (`*.calls.yaml`) among the paths, merged.
 */
export async function loadMesh(
  io: Io,
  paths: readonly string[],
  o: InputOptions & { readonly calls?: string },
): Promise<MeshInput> {
  const { objects, problems, notes, callGraphs = [] } = await loadInput(io, paths, o);
  let model = buildModel(objects);
  if (o.calls === undefined && callGraphs.length) {
    const ns = model.services[0]?.namespace ?? 'default';
    const seen = new Set<string>();
    const calls = callGraphs
      .flatMap((g) => readCalls(model, g.text, g.file, ns))
      .filter((c) => {
        const key = JSON.stringify(c);
        return !seen.has(key) && Boolean(seen.add(key));
      });
    return {
      model: buildModel(objects, { calls }),
      problems,
      notes: [...notes, `declared call graph: ${callGraphs.map((g) => g.file).join(', ')}`],
    };
  }
  if (o.calls !== undefined) {
    let st: Stats;
    try {
      st = statSync(resolvePath(io, o.calls));
    } catch (e) {
      throw unreadable(io, o.calls, e);
    }
    const text = st.isFile()
      ? readBounded(io, resolvePath(io, o.calls), o.calls)
      : { file: o.calls, message: `${fileKind(st)}, not a regular file` };
    if (typeof text !== 'string')
      throw new CommandError(`--calls ${text.file}: ${text.message}`, EXIT.toolFailure);
    const ns = model.services[0]?.namespace ?? 'default';
    model = buildModel(objects, { calls: readCalls(model, text, o.calls, ns) });
  }
  return { model, problems, notes };
}
