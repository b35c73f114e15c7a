/**
 * Informers: list + watch of one resource type into a local cache, built on client-node's
 * `makeInformer` (ListWatch), which resumes a closed or timed-out watch from the last
 * resourceVersion it saw and lists again only when the server says that version is gone (410).
 * What is added here: a watch that fails (apiserver restarting, network) is restarted with an
 * exponential backoff instead of staying down, `synced` tells when the first list has landed, and
 * errors after `stop()` are not reported, and a `transform` keeps only what the operator reads of
 * each object (the list's items and every watch event pass through it before the cache holds them).
 *
 * Bounded, as client-go's reflector bounds its watches: every list carries the request timeout;
 * every watch asks for bookmarks (`allowWatchBookmarks`, which the apiserver answers about once a
 * minute on a quiet watch) and for the server to end it after a random 5 to 10 minutes
 * (`timeoutSeconds`, client-go's `minWatchTimeout` and its jitter), after which it resumes from
 * the last resourceVersion; and a watch that brings nothing, not even a bookmark, for
 * `watchIdleMs` is taken for dead (a connection the apiserver accepted and no longer answers) and
 * opened again, as client-go's HTTP/2 health check does.
 */
import * as k8s from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../api/operator-timings.js';
import { requestTimeoutOptions, type KubeObject, type ResourceType } from '../adapters/kubernetes.js';
import { pooledApiClient } from '../adapters/kubeconfig.js';
import { systemClock, type Clock } from './clock.js';

export interface InformerOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly type: ResourceType;
  /** Watch one namespace; all namespaces when omitted. */
  readonly namespace?: string;
  /** Told of watch failures (the informer restarts by itself). */
  readonly onError?: (message: string) => void;
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * What the cache keeps of each object (e.g. without `managedFields`); it must keep
   * `metadata.name`, `namespace` and `resourceVersion`. @default - the whole object
   */
  readonly transform?: (obj: KubeObject) => KubeObject;
  /** Time allowed for one list request, answer included. @default DEFAULT_REQUEST_TIMEOUT_MS (30 s) */
  readonly requestTimeoutMs?: number;
  /**
   * A watch that brings no event and no bookmark for this long is closed and opened again; also
   * the time allowed to open one. Longer than the apiserver's one-minute bookmarks.
   * @default DEFAULT_WATCH_IDLE_MS (90 s)
   */
  readonly watchIdleMs?: number;
  /** Random in [0, 1), for the watches' `timeoutSeconds`. @default Math.random */
  readonly random?: () => number;
}

/** A watch quiet for longer than this is taken for dead: the apiserver bookmarks every minute. */
export const DEFAULT_WATCH_IDLE_MS = 90_000;
/** client-go's reflector `minWatchTimeout`: the server ends each watch after 1 to 2 times this. */
export const MIN_WATCH_TIMEOUT_S = 300;

/**
 * Sets how long client-node's Watch waits for its next byte (it is also the time allowed to
 * connect) before it aborts the request with a TimeoutError, after which ListWatch opens the
 * watch again from the last resourceVersion. client-node 2.x keeps it in a field with no setter
 * (30 s by default); `test/unit/operator/runtime/informers.test.ts` fails if that field goes away.
 */
export function setWatchIdleTimeout(watch: k8s.Watch, ms: number): void {
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = ms;
}

export type InformerEvent = 'add' | 'update' | 'delete';

/** The REST path of a collection: `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  return namespace ? `${base}/namespaces/${namespace}/${type.plural}` : `${base}/${type.plural}`;
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly inner: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  private readonly listeners: ((event: InformerEvent, obj: T) => void)[] = [];
  private stopped = false;
  private restartTimer: unknown;
  private failures = 0;
  private hasSynced = false;
  private readonly clock: Clock;
  /** Watch (re)connections, for metrics and tests. */
  connects = 0;
  /** Watch failures that led to a restart. */
  restarts = 0;
  /** Watches closed for bringing nothing for `watchIdleMs` (or not opening within it), then reopened. */
  idleTimeouts = 0;

  constructor(private readonly opts: InformerOptions) {
    this.clock = opts.clock ?? systemClock;
    const api = pooledApiClient(opts.kubeConfig, k8s.CustomObjectsApi);
    const listOptions = requestTimeoutOptions(opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const random = opts.random ?? Math.random;
    const { group, version, plural } = opts.type;
    const transform = opts.transform;
    const slim = (o: k8s.KubernetesObject): k8s.KubernetesObject =>
      transform && o?.metadata ? (transform(o as KubeObject) as k8s.KubernetesObject) : o;
    const list = async () => {
      const res = (
        opts.namespace
          ? await api.listNamespacedCustomObject(
              { group, version, plural, namespace: opts.namespace },
              listOptions,
            )
          : await api.listClusterCustomObject({ group, version, plural }, listOptions)
      ) as k8s.KubernetesListObject<k8s.KubernetesObject>;
      return transform ? { ...res, items: res.items.map(slim) } : res;
    };
    // client-node's makeInformer with a watch that asks for bookmarks and a server-side end, is
    // taken for dead when idle, and whose events pass through `transform` first.
    const watch = new k8s.Watch(opts.kubeConfig);
    setWatchIdleTimeout(watch, opts.watchIdleMs ?? DEFAULT_WATCH_IDLE_MS);
    const boundedWatch = {
      watch: (path, query, callback, done) =>
        watch.watch(
          path,
          {
            ...query,
            allowWatchBookmarks: true,
            timeoutSeconds: Math.floor(MIN_WATCH_TIMEOUT_S * (1 + random())),
          },
          (phase, obj, raw) =>
            callback(phase, !transform || phase === 'ERROR' || phase === 'BOOKMARK' ? obj : slim(obj), raw),
          (err) => {
            if ((err as Error | null)?.name === 'TimeoutError' && !this.stopped) this.idleTimeouts++;
            done(err);
          },
        ),
    } as Pick<k8s.Watch, 'watch'> as k8s.Watch;
    this.inner = new k8s.ListWatch(collectionPath(opts.type, opts.namespace), boundedWatch, list, false);
    const emit = (event: InformerEvent) => (obj: k8s.KubernetesObject) => {
      this.failures = 0;
      for (const l of this.listeners) l(event, obj as unknown as T);
    };
    this.inner.on('add', emit('add'));
    this.inner.on('update', emit('update'));
    this.inner.on('delete', emit('delete'));
    this.inner.on('connect', () => {
      this.connects++;
    });
    this.inner.on('error', (e: unknown) => this.failed(e));
  }

  /** Calls `fn` for every change of the cache (adds from the first list included). */
  on(fn: (event: InformerEvent, obj: T) => void): void {
    this.listeners.push(fn);
  }

  /** Whether the first list has landed in the cache. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** Lists and starts watching; resolves once the first list is in the cache (or the list failed and a retry is scheduled). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.inner.start();
    this.markSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) this.clock.clearTimer(this.restartTimer);
    await this.inner.stop();
  }

  get(namespace: string, name: string): T | undefined {
    return this.inner.get(name, namespace) as unknown as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace) as unknown as readonly T[];
  }

  private markSynced(): void {
    if (
      !this.hasSynced &&
      (this.inner as unknown as k8s.ListWatch<k8s.KubernetesObject>).latestResourceVersion() !== ''
    ) {
      this.hasSynced = true;
      this.failures = 0;
    }
  }

  private failed(e: unknown): void {
    if (this.stopped) return;
    const code =
      (e as { code?: number; statusCode?: number })?.code ?? (e as { statusCode?: number })?.statusCode;
    const message = (e as Error)?.message ?? String(e);
    const delay = Math.min(30_000, 500 * 2 ** this.failures++);
    this.restarts++;
    this.opts.onError?.(
      `watch of ${collectionPath(this.opts.type, this.opts.namespace)} failed (${code ?? message.slice(0, 200)}); restarting in ${delay} ms`,
    );
    if (this.restartTimer !== undefined) this.clock.clearTimer(this.restartTimer);
    this.restartTimer = this.clock.setTimer(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.inner.start().then(
        () => this.markSynced(),
        (err: unknown) => this.failed(err),
      );
    }, delay);
  }
}
