/**
 * The operator process: `npm run operator -- [flags]` or `tsx operator/main.ts [flags]`.
 * Every flag has an environment variable; flags win. Logs are JSON lines on stderr. SIGTERM and
 * SIGINT stop it gracefully: runs under way finish, the Lease is released, then it exits.
 */
import { parseArgs } from 'node:util';
import { loadKubeConfig } from './adapters/kubeconfig.js';
import { ok } from './core/result.js';
import { defaultConcurrency, parseConcurrency } from './runtime/concurrency.js';
import { parseLeaseTimings, parseRequestTimeout } from './runtime/lease-timings.js';
import { startOperator } from './runtime/operator.js';
import { createLogger, type Level } from './runtime/log.js';

const USAGE = `usage: operator [flags]

  --kubeconfig PATH        kubeconfig to use; default: KUBECONFIG, else ~/.kube/config, else
                           the pod's service account (in-cluster)
  --prometheus-url URL     Prometheus base URL (env PROMETHEUS_URL), required,
                           e.g. http://prometheus.istio-system:9090
  --namespace NS           watch and act in this namespace only (env WATCH_NAMESPACE); default: all
  --lease-namespace NS     namespace of the leader-election Lease (env LEASE_NAMESPACE, else
                           POD_NAMESPACE); default: default
  --lease-name NAME        name of the Lease (env LEASE_NAME); default: cdk8s-mesh-canary-operator
  --lease-duration D       how long the other replicas wait after the Lease was last renewed
                           before taking over (env LEASE_DURATION); whole seconds, 1s to 1h;
                           default: 15s
  --renew-deadline D       how long the leader keeps acting while it cannot renew (env
                           RENEW_DEADLINE); shorter than the lease duration; default: 10s
  --retry-period D         how often each replica tries to take or renew the Lease (env
                           RETRY_PERIOD); at least 100ms, and 1.2 times it shorter than the
                           renew deadline; default: 2s
  --request-timeout D      time allowed for one request to the apiserver, answer included (env
                           REQUEST_TIMEOUT); watches are bounded apart; 1s to 10m; default: 30s
  --no-leader-election     act at once without a Lease (a single replica only)
  --listen HOST:PORT       serve /metrics, /healthz, /readyz (env LISTEN_ADDRESS); default: :8080
  --identity NAME          replica identity (env POD_NAME); default: <hostname>-<pid>
  --log-level LEVEL        debug, info, warn or error (env LOG_LEVEL); default: info
  --concurrency N          releases reconciled at once, 1 to 256 (env CONCURRENCY); default: 64
  --help                   this text
`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        'prometheus-url': { type: 'string' },
        namespace: { type: 'string' },
        'lease-namespace': { type: 'string' },
        'lease-name': { type: 'string' },
        'lease-duration': { type: 'string' },
        'renew-deadline': { type: 'string' },
        'retry-period': { type: 'string' },
        'request-timeout': { type: 'string' },
        'no-leader-election': { type: 'boolean' },
        listen: { type: 'string' },
        identity: { type: 'string' },
        'log-level': { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`operator: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const env = process.env;
  const level = (values['log-level'] ?? env.LOG_LEVEL ?? 'info') as Level;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    process.stderr.write(`operator: --log-level must be debug, info, warn or error (got "${level}")\n`);
    return 2;
  }
  const log = createLogger({ level });
  const concurrencyText = values.concurrency ?? env.CONCURRENCY;
  const concurrency =
    concurrencyText === undefined
      ? ok(defaultConcurrency())
      : parseConcurrency(concurrencyText, values.concurrency !== undefined ? '--concurrency' : 'CONCURRENCY');
  if (!concurrency.ok) {
    log.error(concurrency.error);
    return 2;
  }
  // Lease timings: each from its flag, else its environment variable, else client-go's default.
  const timingSources = {
    leaseDuration: ['lease-duration', 'LEASE_DURATION'],
    renewDeadline: ['renew-deadline', 'RENEW_DEADLINE'],
    retryPeriod: ['retry-period', 'RETRY_PERIOD'],
  } as const;
  const timingText = (k: keyof typeof timingSources) =>
    values[timingSources[k][0]] ?? env[timingSources[k][1]];
  const timingName = (k: keyof typeof timingSources) =>
    values[timingSources[k][0]] !== undefined ? `--${timingSources[k][0]}` : timingSources[k][1];
  const leaseTimings = parseLeaseTimings(
    {
      leaseDuration: timingText('leaseDuration'),
      renewDeadline: timingText('renewDeadline'),
      retryPeriod: timingText('retryPeriod'),
    },
    {
      leaseDuration: timingName('leaseDuration'),
      renewDeadline: timingName('renewDeadline'),
      retryPeriod: timingName('retryPeriod'),
    },
  );
  if (!leaseTimings.ok) {
    log.error(leaseTimings.error);
    return 2;
  }
  const requestTimeout = parseRequestTimeout(
    values['request-timeout'] ?? env.REQUEST_TIMEOUT,
    values['request-timeout'] !== undefined ? '--request-timeout' : 'REQUEST_TIMEOUT',
  );
  if (!requestTimeout.ok) {
    log.error(requestTimeout.error);
    return 2;
  }
  const prometheusUrl = values['prometheus-url'] ?? env.PROMETHEUS_URL;
  if (!prometheusUrl || !/^https?:\/\//.test(prometheusUrl)) {
    log.error(
      '--prometheus-url (or PROMETHEUS_URL) is required: the base URL of Prometheus, e.g. http://prometheus.istio-system:9090',
      {
        got: prometheusUrl ?? null,
      },
    );
    return 2;
  }

  // --kubeconfig, else KUBECONFIG, else ~/.kube/config, else the pod's service account.
  const loaded = loadKubeConfig({ ...(values.kubeconfig !== undefined ? { path: values.kubeconfig } : {}) });
  if (!loaded.ok) {
    log.error(`cannot load the Kubernetes configuration: ${loaded.error}`);
    return 2;
  }
  const kubeConfig = loaded.value.kubeConfig;

  const leaseNamespace = values['lease-namespace'] ?? env.LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? 'default';
  const handle = await startOperator({
    kubeConfig,
    requestTimeoutMs: requestTimeout.value,
    prometheusUrl,
    namespace: values.namespace ?? env.WATCH_NAMESPACE ?? undefined,
    leaderElection: values['no-leader-election']
      ? false
      : {
          namespace: leaseNamespace,
          name: values['lease-name'] ?? env.LEASE_NAME ?? 'cdk8s-mesh-canary-operator',
          ...leaseTimings.value,
        },
    identity: values.identity ?? env.POD_NAME,
    listen: values.listen ?? env.LISTEN_ADDRESS ?? ':8080',
    concurrency: concurrency.value,
    processMetrics: true,
    logger: log,
  });
  log.info('operator started', {
    cluster: kubeConfig.getCurrentCluster()?.server,
    listen: handle.address,
    identity: handle.identity,
  });

  return await new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        log.warn(`second ${sig}: exiting now`);
        resolve(1);
        return;
      }
      log.info(`${sig}: stopping gracefully`);
      handle.stop().then(
        () => resolve(0),
        (e: unknown) => {
          log.error('error while stopping', { error: (e as Error)?.message ?? String(e) });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

process.on('unhandledRejection', (e) => {
  // An exception in the runtime is a bug; log it and keep the process (and its Lease) consistent.
  process.stderr.write(
    JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      msg: 'unhandled rejection',
      error: String((e as Error)?.stack ?? e),
    }) + '\n',
  );
});

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        msg: 'operator failed to start',
        error: (e as Error)?.message ?? String(e),
      }) + '\n',
    );
    process.exit(1);
  },
);
