/**
 * The dashboard's view of the cluster: one informer (list, then watch) per kind the mesh model
 * reads and for CanaryReleases, in each namespace shown, with the user's own kubeconfig and so the
 * user's RBAC. Every change schedules one new snapshot (changes within 200 ms are taken together),
 * which is pushed to the pages; a watch the apiserver refuses (forbidden) or drops is reported on
 * the page and restarted with a backoff.
 */
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, KIND } from '../../api/v1alpha1/canary-release.js';
import type { KubeObject, SourcedObject } from '../../mesh/model/types.js';
import type { CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { redactText } from '../../api/redact.js';
import { CLUSTER_KINDS } from '../kube.js';

/** `Kind` → its REST plural (`AuthorizationPolicy` → `authorizationpolicies`). */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  return /[^aeiou]y$/.test(k) ? `${k.slice(0, -1)}ies` : `${k}s`;
}

/** The collection path of `apiVersion` `kind`, in `namespace` when given. */
export function pathOf(apiVersion: string, kind: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${pluralOf(kind)}` : `${base}/${pluralOf(kind)}`;
}

export interface LiveOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly namespaces: readonly string[];
  /** Called after changes settle, with every object held now. */
  readonly onChange: (objects: readonly SourcedObject[], releases: readonly CanaryReleaseObject[]) => void;
  /** Called when a watch fails or recovers: `key` is `Kind namespace`, `message` undefined when it recovered. */
  readonly onWatchError: (key: string, message: string | undefined) => void;
}

interface Watched {
  readonly key: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly informer: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
}

export class LiveCluster {
  private readonly watched: Watched[] = [];
  private stopped = false;
  private pending?: ReturnType<typeof setTimeout>;

  constructor(private readonly opts: LiveOptions) {
    const api = k8s.KubernetesObjectApi.makeApiClient(opts.kubeConfig);
    const kinds: [string, string][] = [
      ...CLUSTER_KINDS.map(([a, k]) => [a, k] as [string, string]),
      [API_VERSION, KIND],
    ];
    for (const [apiVersion, kind] of kinds) {
      // Namespaces are cluster-wide: a user with a namespaced Role cannot list them, and the model
      // then takes the injection of the namespaces it does not see as unknown.
      const scopes: (string | undefined)[] = kind === 'Namespace' ? [undefined] : [...opts.namespaces];
      for (const ns of scopes) {
        const list = () =>
          api.list(apiVersion, kind, ns) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
        const informer = k8s.makeInformer(opts.kubeConfig, pathOf(apiVersion, kind, ns), list);
        const w: Watched = { key: `${kind}${ns ? ` ${ns}` : ''}`, apiVersion, kind, informer, failures: 0 };
        for (const ev of ['add', 'update', 'delete'] as const)
          informer.on(ev, () => {
            if (w.failures) opts.onWatchError(w.key, undefined);
            w.failures = 0;
            this.changed();
          });
        informer.on('error', (e: unknown) => this.failed(w, e));
        this.watched.push(w);
      }
    }
  }

  /** Starts every watch; resolves when each has listed once (or failed and will retry). */
  async start(): Promise<void> {
    await Promise.all(this.watched.map((w) => w.informer.start().catch((e: unknown) => this.failed(w, e))));
    this.changed(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pending) clearTimeout(this.pending);
    for (const w of this.watched) if (w.timer) clearTimeout(w.timer);
    await Promise.all(this.watched.map((w) => w.informer.stop().catch(() => undefined)));
  }

  /** Every object held now: the mesh's kinds, and the CanaryReleases. */
  objects(): { objects: SourcedObject[]; releases: CanaryReleaseObject[] } {
    const objects: SourcedObject[] = [];
    const releases: CanaryReleaseObject[] = [];
    for (const w of this.watched)
      for (const o of w.informer.list()) {
        const object = { ...(o as object), apiVersion: w.apiVersion, kind: w.kind } as KubeObject;
        if (w.kind === KIND) releases.push(object as unknown as CanaryReleaseObject);
        else objects.push({ object, origin: { cluster: 'live' } });
      }
    return { objects, releases };
  }

  private changed(delay = 200): void {
    if (this.stopped) return;
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      const { objects, releases } = this.objects();
      this.opts.onChange(objects, releases);
    }, delay);
  }

  private failed(w: Watched, e: unknown): void {
    if (this.stopped) return;
    const code =
      (e as { code?: number; statusCode?: number })?.code ?? (e as { statusCode?: number })?.statusCode;
    const body = (e as { body?: unknown })?.body;
    const detail =
      typeof body === 'string' ? body : body ? JSON.stringify(body) : ((e as Error)?.message ?? String(e));
    const delay = Math.min(30_000, 1000 * 2 ** w.failures++);
    this.opts.onWatchError(
      w.key,
      redactText(
        `watching ${w.kind}s${w.key.includes(' ') ? ` in ${w.key.split(' ')[1]}` : ''}: ${code ? `HTTP ${code}: ` : ''}${detail.slice(0, 300)} (retrying in ${Math.round(delay / 1000)} s)`,
      ),
    );
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      w.timer = undefined;
      if (!this.stopped) w.informer.start().catch((err: unknown) => this.failed(w, err));
    }, delay);
  }
}
