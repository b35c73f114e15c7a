/** `cdk8s-mesh dashboard`: a local web page with the live mesh and its releases (../dashboard/). */
import type { CommandContext } from '../io.js';
import { UsageError } from '../errors.js';
import { EXIT } from '../exit.js';
import { kubeConfigFor, namespaceOf } from '../kube.js';
import { startDashboard } from '../dashboard/dashboard.js';
import { redactUrl } from '../../api/redact.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export async function run({ values, io }: CommandContext): Promise<number> {
  const kc = kubeConfigFor(io, { kubeconfig: str(values.kubeconfig), context: str(values.context) });
  const namespaces = (str(values.namespace) ?? namespaceOf(kc, undefined))
    .split(',')
    .filter(Boolean)
    .map((ns) => namespaceOf(kc, ns));
  const port = Number(str(values.port) ?? '7460');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, or 0 for any free one (got ${str(values.port)})`);
  const prometheusUrl = str(values['prometheus-url']);
  if (prometheusUrl !== undefined && !/^https?:\/\//.test(prometheusUrl))
    throw new UsageError(`--prometheus-url must be an http(s) URL (got ${redactUrl(prometheusUrl)})`);
  const d = await startDashboard({
    kubeConfig: kc,
    namespaces,
    port,
    ...(prometheusUrl ? { prometheusUrl } : {}),
    onError: (m) => io.err(`${m}\n`),
  });
  io.out(
    `dashboard of ${namespaces.join(', ')} on ${redactUrl(kc.getCurrentCluster()?.server ?? '')}: ${d.url}\n(Ctrl-C stops it)\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal) io.signal.addEventListener('abort', () => resolve(), { once: true });
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await d.close();
  return EXIT.ok;
}
