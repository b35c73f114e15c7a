/**
 * `cdk8s-mesh status [name]`: the CanaryReleases of a namespace as a table, one release in
 * detail, or (`--watch`) followed as they change.
 */
import { durationMs } from '../../api/duration.js';
import { KIND } from '../../api/v1alpha1/canary-release.js';
import { KubeClient } from '../../operator/adapters/kubernetes.js';
import type { CommandContext } from '../io.js';
import { CommandError, UsageError } from '../errors.js';
import { EXIT } from '../exit.js';
import { kubeConfigFor, namespaceOf } from '../kube.js';
import { cut, formatDetail, formatTable, progressLine, ref } from '../release/format.js';
import { getView, isFinished, listViews, type ReleaseView } from '../release/view.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** The parts of a view that change only when the release does (not with the clock). */
const signature = (v: ReleaseView) => JSON.stringify({ ...v, createdAt: undefined });

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export async function run({ args: names, values, io, json }: CommandContext): Promise<number> {
  const o = {
    namespace: str(values.namespace),
    allNamespaces: values['all-namespaces'] === true,
    watch: values.watch === true,
    interval: str(values.interval) ?? '2s',
  };
  if (names.length > 1)
    throw new UsageError(`status takes at most one release name (got ${names.join(' ')})`);
  const name = names[0];
  if (name && o.allNamespaces) throw new UsageError('give a release name or --all-namespaces, not both');
  const intervalMs = durationMs(o.interval);
  if (intervalMs === undefined || intervalMs <= 0)
    throw new UsageError(`--interval must be a duration such as 2s or 500ms (got ${o.interval})`);
  const kc = kubeConfigFor(io, { kubeconfig: str(values.kubeconfig), context: str(values.context) });
  const namespace = o.allNamespaces ? undefined : namespaceOf(kc, o.namespace);
  const client = new KubeClient(kc);
  const load = async () =>
    name ? [(await getView(client, kc, namespace!, name)).view] : await listViews(client, kc, namespace);

  const render = (views: readonly ReleaseView[], now: Date) => {
    if (name) return formatDetail(views[0]!, now);
    if (!views.length)
      return o.allNamespaces
        ? `No ${KIND}s in any namespace.`
        : `No ${KIND}s in namespace ${namespace}. (Try -A for all namespaces.)`;
    return formatTable(views, now, { namespace: !!o.allNamespaces });
  };

  if (!o.watch) {
    const views = await load();
    if (json) io.out(`${JSON.stringify(name ? views[0] : { items: views }, null, 2)}\n`);
    else io.out(`${render(views, new Date())}\n`);
    return 0;
  }

  // --watch: poll; a TTY redraws the frame in place, a pipe gets one line (or JSON) per change.
  const seen = new Map<string, string>();
  let drawn = 0;
  let lastError = '';
  const columns = Math.max(40, io.columns ?? 120);
  for (;;) {
    let views: ReleaseView[];
    try {
      views = await load();
      lastError = '';
    } catch (e) {
      // A vanished release ends the watch; a hiccup of the apiserver is reported once and retried.
      if (e instanceof CommandError && e.exitCode === EXIT.notFound) throw e;
      if (!(e instanceof CommandError)) throw e;
      if (e.message !== lastError) io.err(`${e.message} (retrying every ${o.interval})\n`);
      lastError = e.message;
      await sleep(intervalMs, io.signal);
      if (io.signal?.aborted) return 0;
      continue;
    }
    const now = new Date();
    if (io.tty && !json) {
      const frame = render(views, now)
        .split('\n')
        .map((l) => cut(l, columns - 1));
      io.out(`${drawn ? `\x1b[${drawn}F\x1b[J` : ''}${frame.join('\n')}\n`);
      drawn = frame.length;
    } else {
      for (const v of views) {
        const key = `${v.namespace}/${v.name}`;
        const sig = signature(v);
        if (seen.get(key) === sig) continue;
        seen.set(key, sig);
        io.out(json ? `${JSON.stringify(v)}\n` : `${progressLine(v, now)}\n`);
      }
    }
    if (name && isFinished(views[0]!)) {
      const v = views[0]!;
      if (!json) io.err(`${ref(v)} ended ${v.phase}: ${v.message ?? ''}\n`);
      return v.phase === 'Succeeded' ? 0 : EXIT.releaseFailed;
    }
    await sleep(intervalMs, io.signal);
    if (io.signal?.aborted) return 0;
  }
}
