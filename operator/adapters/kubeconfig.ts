/**
 * The one kubeconfig loader, for the operator process and the `cdk8s-mesh` CLI (which imports it
 * from here: the operator may import only api/ and itself, and api/ may not load client-node).
 *
 * Where the configuration comes from, in kubectl's order: an explicit file (`--kubeconfig`), else
 * the files of `KUBECONFIG` (merged, the first one's current context wins), else
 * `~/.kube/config`, else the pod's service account. Unlike client-node's `loadFromDefault`, it
 * never falls back to `http://localhost:8080`: with nothing to load it says which files it
 * looked for. A YAML error names the file, line and column but never quotes the file (a
 * kubeconfig holds tokens and keys). Expected failures are result values.
 */
import * as k8s from '@kubernetes/client-node';
import { CORE_SCHEMA, load } from 'js-yaml';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { err, ok, type Result } from '../core/result.js';

/** Where a pod's service-account token is mounted (client-node's in-cluster configuration reads it). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigRequest {
  /** An explicit kubeconfig file (`--kubeconfig`), as the user wrote it. */
  readonly path?: string;
  /** The context to use instead of the file's `current-context` (`--context`). */
  readonly context?: string;
  /** Relative paths (the flag's and KUBECONFIG's) resolve from here. @default process.cwd() */
  readonly cwd?: string;
  /** Reads `KUBECONFIG`, `HOME` and `KUBERNETES_SERVICE_HOST`. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The pod's service-account token, whose presence means in-cluster. @default SERVICE_ACCOUNT_TOKEN */
  readonly serviceAccountToken?: string;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: k8s.KubeConfig;
  /** Where it came from, for messages: the `--kubeconfig` path, `$KUBECONFIG (a:b)`, `~/.kube/config`, `in-cluster`. */
  readonly source: string;
}

type FileState = 'file' | 'missing' | 'not-a-file' | 'unreadable';

function stateOf(path: string): FileState {
  try {
    return statSync(path).isFile() ? 'file' : 'not-a-file';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR'
      ? 'missing'
      : 'unreadable';
  }
}

/** Why a file did not load: its path is wrong, or its content. */
interface FileError {
  readonly message: string;
  readonly wrong: 'path' | 'content';
}

const pathError = (message: string): Result<never, FileError> => err({ message, wrong: 'path' });
const contentError = (message: string): Result<never, FileError> => err({ message, wrong: 'content' });

/** One kubeconfig file into a KubeConfig, or a message naming `shown` that never quotes its content. */
function loadFile(abs: string, shown: string): Result<k8s.KubeConfig, FileError> {
  const state = stateOf(abs);
  if (state === 'missing') return pathError(`the kubeconfig ${shown} does not exist`);
  if (state === 'not-a-file') return pathError(`the kubeconfig ${shown} is not a regular file`);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return pathError(
      `cannot read the kubeconfig ${shown}: ${(e as NodeJS.ErrnoException).code ?? 'read error'}`,
    );
  }
  let doc: unknown;
  try {
    doc = load(text, { schema: CORE_SCHEMA });
  } catch (e) {
    const y = e as { reason?: string; mark?: { line: number; column: number } };
    const at = y.mark ? ` at line ${y.mark.line + 1}, column ${y.mark.column + 1}` : '';
    return contentError(`the kubeconfig ${shown} is not valid YAML${at}: ${y.reason ?? 'syntax error'}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return contentError(
      `the kubeconfig ${shown} is not a kubeconfig (expected a mapping with clusters, users, contexts)`,
    );
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (e) {
    // client-node's own checks (`clusters[0].name is missing`); a YAML error here would quote the file.
    const message = (e as Error).name === 'YAMLException' ? 'not valid YAML' : (e as Error).message;
    return contentError(`the kubeconfig ${shown} is not a valid kubeconfig: ${message}`);
  }
  kc.makePathsAbsolute(dirname(abs));
  return ok(kc);
}

/** kubectl's merge of a KUBECONFIG list: a name already defined by an earlier file keeps that definition. */
function mergeFirstWins(kc: k8s.KubeConfig, more: k8s.KubeConfig): void {
  for (const c of more.clusters) if (!kc.getCluster(c.name)) kc.addCluster(c);
  for (const u of more.users) if (!kc.getUser(u.name)) kc.addUser(u);
  for (const c of more.contexts) if (!kc.getContextObject(c.name)) kc.addContext(c);
  if (!kc.getCurrentContext() && more.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
}

/**
 * Loads the Kubernetes client configuration (see the file comment for the order) and selects
 * `context`. The error says which file is missing or broken and what to do.
 */
export function loadKubeConfig(req: KubeConfigRequest = {}): Result<LoadedKubeConfig, string> {
  const env = req.env ?? process.env;
  const cwd = req.cwd ?? process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  let kc: k8s.KubeConfig;
  let source: string;
  if (req.path !== undefined) {
    source = req.path;
    const one = loadFile(abs(req.path), req.path);
    if (!one.ok)
      return err(
        one.error.wrong === 'path'
          ? `${one.error.message}${isAbsolute(req.path) ? '' : ` (relative to ${cwd})`}: check the path given with --kubeconfig`
          : `${one.error.message}: fix the file, or pass another with --kubeconfig`,
      );
    kc = one.value;
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    source = `$KUBECONFIG (${env.KUBECONFIG})`;
    const present = files.filter((f) => stateOf(abs(f)) !== 'missing');
    if (!present.length)
      return err(
        `KUBECONFIG names ${files.length === 1 ? 'a file that does not exist' : 'files none of which exist'} (${files.join(', ')}): fix KUBECONFIG, or pass --kubeconfig <path>`,
      );
    // kubectl skips the missing files of a KUBECONFIG list; so do we.
    const loaded: k8s.KubeConfig[] = [];
    for (const f of present) {
      const one = loadFile(abs(f), f);
      if (!one.ok)
        return err(`${one.error.message} (listed in KUBECONFIG): fix it, or pass --kubeconfig <path>`);
      loaded.push(one.value);
    }
    kc = loaded[0]!;
    for (const more of loaded.slice(1)) mergeFirstWins(kc, more);
  } else {
    const home = env.HOME || homedir();
    const file = join(home, '.kube', 'config');
    const state = stateOf(file);
    if (state !== 'missing') {
      source = file;
      const one = loadFile(file, file);
      if (!one.ok) return err(`${one.error.message}: fix it, or pass --kubeconfig <path>`);
      kc = one.value;
    } else if (
      env.KUBERNETES_SERVICE_HOST &&
      stateOf(req.serviceAccountToken ?? SERVICE_ACCOUNT_TOKEN) === 'file'
    ) {
      source = 'in-cluster (the pod service account)';
      kc = new k8s.KubeConfig();
      kc.loadFromCluster();
    } else {
      return err(
        `no kubeconfig: --kubeconfig is not given, KUBECONFIG is not set, and ${file} does not exist; pass --kubeconfig <path>, set KUBECONFIG, or write ${file} (kind, minikube and cloud CLIs create it)`,
      );
    }
  }
  if (req.context !== undefined) {
    if (!kc.getContextObject(req.context))
      return err(
        `context "${req.context}" is not in the kubeconfig ${source} (contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }): pass one of those with --context`,
      );
    kc.setCurrentContext(req.context);
  }
  if (!kc.getCurrentCluster())
    return err(
      `the kubeconfig ${source} names no current cluster (current-context ${kc.getCurrentContext() ? `"${kc.getCurrentContext()}" has no cluster` : 'is not set'}): pass --context <name> (contexts: ${
        kc
          .getContexts()
          .map((c) => c.name)
          .join(', ') || 'none'
      })`,
    );
  return ok({ kubeConfig: kc, source });
}

/** How long one connection pool serves before a new one is made (client certificate rotation). */
export const POOL_MAX_AGE_MS = 5 * 60_000;

/**
 * A client-node API client whose requests share one connection pool per cluster and user.
 *
 * client-node 2's `makeApiClient` gives every request a new undici Agent: each request opens its
 * own TLS connection (a handshake, the CA and client key parsed again) and keeps it open for a few
 * seconds after the answer. At hundreds of releases that is most of the operator's memory and
 * CPU in a burst of writes. Here the Agent of the first request for the current cluster and user is
 * kept and given to the later ones, the way client-node already caches its Watch agents; the
 * headers (a token that refreshes, an exec plugin's credentials) are still set on every request by
 * client-node itself. A client certificate lives in the pool's TLS connections, so the pool is
 * replaced once it is `maxAgeMs` old (client-go re-reads rotating client certificates every 5
 * minutes too): a certificate file rotated on disk, or renewed by an exec plugin, is in use within
 * that time.
 */
export function pooledApiClient<T extends k8s.ApiType>(
  kubeConfig: k8s.KubeConfig,
  api: k8s.ApiConstructor<T>,
  { maxAgeMs = POOL_MAX_AGE_MS, now = Date.now }: { maxAgeMs?: number; now?: () => number } = {},
): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster: set its current-context');
  type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;
  const pools = new Map<string, { dispatcher: Dispatcher; since: number }>();
  const auth: k8s.SecurityAuthentication = {
    getName: () => 'kubeconfig authentication, one connection pool',
    applySecurityAuthentication: async (context) => {
      await kubeConfig.applySecurityAuthentication(context);
      const key = `${kubeConfig.getCurrentCluster()?.name ?? ''}\u0000${kubeConfig.getCurrentUser()?.name ?? ''}`;
      const pooled = pools.get(key);
      if (pooled && now() - pooled.since < maxAgeMs) {
        context.setDispatcher(pooled.dispatcher);
        return;
      }
      const fresh = context.getDispatcher();
      if (fresh) pools.set(key, { dispatcher: fresh, since: now() });
      else pools.delete(key);
      // The old pool is dropped, not closed: a request handed it a moment ago may not have been
      // sent yet, and a closed pool refuses it. Its idle connections close by keep-alive timeout.
    },
  };
  return new api(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: auth },
      middleware: [k8s.setHeaderMiddleware('User-Agent', 'cdk8s-mesh')],
    }),
  );
}
