/**
 * Kill -9 the operator at random points while several releases run, and read the state back from
 * the real apiserver after every kill. Shared by `operator-kill.test.ts` (a few kills) and
 * `bench/reliability.bench.ts` (hundreds).
 *
 * The operator runs as its own process (`operator/main.ts`, no leader election, scoped to one
 * namespace) against the real apiserver and the real Prometheus. Each life: start it, wait until it
 * acts, let it work for a random time (seeded), SIGKILL it. A round is four releases side by side,
 * each on a service of its own, whose outcome does not depend on timing:
 * - `steady`: setWeight/pause steps whose custom check (`vector(1) >= 0`) always passes → Succeeded;
 * - `header`: a header route, then weights, then promotion → Succeeded, header route removed;
 * - `short`: the short form (stepWeight 25 up to 75) → Succeeded;
 * - `failing`: a check (`vector(1) <= 0`) that always fails, threshold 3 → RolledBack at step 0.
 * Rounds repeat until the kills are done; the last round is finished by a final operator life.
 *
 * After every kill, for every release: the managed route's weights are integers summing to 100;
 * the other route is byte for byte as created; the step never goes back and a finished release stays
 * finished; the canary weight is one the plan allows at the current step (the step before or after
 * it, which a kill between the route write and the status write leaves; before the first status,
 * 0 or step 0's weight); nothing is promoted twice;
 * the history shows no skipped step. Every loop is bounded in count and time.
 */
import { destinationWeights } from '../../api/route-weights.js';
import {
  parseSpec,
  type CanaryReleaseSpecInput,
  type CanaryReleaseStatus,
} from '../../api/v1alpha1/canary-release.js';
import { isFinishedPhase, Reason } from '../../api/v1alpha1/constants.js';
import {
  CANARY_RELEASES,
  DESTINATION_RULES,
  EVENTS,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { planSteps, weightAt } from '../../operator/core/plan.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { compiledOperator } from '../harness/compiled-cli.js';
import {
  killHard,
  spawnOperator,
  waitLeading,
  type OperatorProcess as Life,
} from '../harness/operator-process.js';
import { seededRandom } from '../harness/traffic/rng.js';
import {
  canaryRelease,
  must,
  sleep,
  subsetRule,
  userVirtualService,
  waitFor,
} from '../integration/operator-fixtures.js';

export interface KillCampaignOptions {
  /** SIGKILLs to deliver in all. */
  readonly kills: number;
  /** Seed of the kill times. */
  readonly seed: number;
  /** Longest time an operator life acts before it is killed (uniform in [0, this]). @default 3000 */
  readonly maxLifeMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface KillCampaignResult {
  readonly kills: number;
  readonly rounds: number;
  readonly releases: number;
  /** `release: phase` of every release at its end, e.g. `r1-failing: RolledBack`. */
  readonly outcomes: string[];
  /** Invariant violations seen after kills or at the end (empty when all held). */
  readonly breaks: string[];
  /** Lines the operator logged at level error (an unhandled rejection among them). */
  readonly operatorErrors: string[];
  /** Time from spawning an operator to its first "leading" log line, per life (ms). */
  readonly startMs: number[];
  /** Time from the last release's creation to the end of its round (ms), per round. */
  readonly roundMs: number[];
}

type Kind = 'steady' | 'header' | 'short' | 'failing';
const KINDS: readonly Kind[] = ['steady', 'header', 'short', 'failing'];
/** The outcome each kind has without kills. */
export const EXPECTED_OUTCOME: Record<Kind, 'Succeeded' | 'RolledBack'> = {
  steady: 'Succeeded',
  header: 'Succeeded',
  short: 'Succeeded',
  failing: 'RolledBack',
};

const pass = [{ name: 'always-passes', query: 'vector(1)', min: 0 }];
const fail = [{ name: 'always-fails', query: 'vector(1)', max: 0 }];

function specOf(kind: Kind, service: string): CanaryReleaseSpecInput {
  const base = {
    service,
    stable: { subset: 'v1' },
    canary: { subset: 'v2' },
    virtualService: { name: service, route: 'primary' },
  };
  switch (kind) {
    case 'steady':
      return {
        ...base,
        steps: [
          { setWeight: 10 },
          { pause: { duration: '1s' } },
          { setWeight: 30 },
          { pause: { duration: '1s' } },
          { setWeight: 60 },
        ],
        analysis: { interval: '1s', threshold: 2, metrics: pass, missingData: { policy: 'Hold' } },
      };
    case 'header':
      return {
        ...base,
        steps: [
          { headerRoute: { name: 'testers', headers: { 'end-user': { exact: 'jason' } } } },
          { setWeight: 20 },
          { pause: { duration: '1s' } },
          { setWeight: 50 },
        ],
        analysis: { interval: '1s', threshold: 2, metrics: pass, missingData: { policy: 'Hold' } },
      };
    case 'short':
      return {
        ...base,
        stepWeight: 25,
        maxWeight: 75,
        analysis: { interval: '1s', threshold: 2, metrics: pass, missingData: { policy: 'Hold' } },
      };
    case 'failing':
      return {
        ...base,
        steps: [{ setWeight: 20 }, { pause: { duration: '1s' } }, { setWeight: 50 }],
        analysis: { interval: '2s', threshold: 3, metrics: fail, missingData: { policy: 'Hold' } },
      };
  }
}

interface Tracked {
  readonly name: string;
  readonly kind: Kind;
  readonly service: string;
  readonly spec: CanaryReleaseSpecInput;
  /** The VirtualService's other route as created (JSON). */
  readonly health: string;
  lastStep: number;
  finished: boolean;
}

interface Route {
  name?: string;
  route?: { destination: { subset?: string }; weight?: number }[];
}

/** Checks one release against the invariants; returns what broke. */
async function check(client: KubeClient, ns: string, t: Tracked, finalCheck: boolean): Promise<string[]> {
  const breaks: string[] = [];
  const where = `${ns}/${t.name}`;
  const vs = must(await client.get(VIRTUAL_SERVICES, { namespace: ns, name: t.service }));
  const http = (vs.spec as { http: Route[] }).http;
  const health = http.find((r) => r.name === 'health');
  if (JSON.stringify(health) !== t.health)
    breaks.push(`${where}: route health changed: ${JSON.stringify(health)}`);
  const primary = http.find((r) => r.name === 'primary');
  if (!primary?.route) return [...breaks, `${where}: route primary is gone`];
  const weights = destinationWeights(primary.route);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!weights.every((w) => Number.isInteger(w) && w >= 0 && w <= 100) || sum !== 100)
    breaks.push(`${where}: weights ${JSON.stringify(weights)} are not integers summing to 100`);
  const canary = primary.route.reduce(
    (acc, d, i) => (d.destination.subset === 'v2' ? acc + weights[i]! : acc),
    0,
  );

  const parsed = parseSpec(t.spec);
  if (!parsed.ok) return [...breaks, `${where}: the test's own spec does not parse`];
  const steps = planSteps(parsed.spec);
  const w = (i: number) => (i < 0 ? 0 : i < steps.length ? weightAt(steps, i) : 100);

  const obj = must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns, name: t.name }));
  const s = obj.status as CanaryReleaseStatus | undefined;
  if (!s) {
    // a kill between the first route write and the first status write leaves step 0's weight
    if (canary !== 0 && canary !== w(0))
      breaks.push(`${where}: no status yet, but the canary has ${canary}% (step 0 has ${w(0)}%)`);
    return breaks;
  }
  if (s.currentStep < t.lastStep)
    breaks.push(`${where}: step went back from ${t.lastStep} to ${s.currentStep}`);
  if (t.finished && !isFinishedPhase(s.phase)) breaks.push(`${where}: finished, then ${s.phase}`);
  t.lastStep = s.currentStep;
  t.finished = isFinishedPhase(s.phase);

  const allowed = new Set([w(s.currentStep - 1), w(s.currentStep), w(s.currentStep + 1)]);
  if (s.phase === 'RolledBack') allowed.add(0);
  if (s.phase === 'Succeeded') allowed.add(100);
  if (!allowed.has(canary))
    breaks.push(
      `${where}: canary weight ${canary} at ${s.phase} step ${s.currentStep}; the plan allows ${[...allowed].join(', ')}`,
    );

  const history = s.history ?? [];
  const promoted = history.filter((h) => h.phase === 'Succeeded').length;
  if (promoted > 1) breaks.push(`${where}: promoted ${promoted} times in its history`);
  const advanced = history.filter((h) => h.reason === Reason.StepAdvanced);
  for (let i = 1; i < advanced.length; i++)
    if (advanced[i]!.step !== advanced[i - 1]!.step + 1)
      breaks.push(`${where}: history skips from step ${advanced[i - 1]!.step} to ${advanced[i]!.step}`);
  const started = history.find((h) => h.reason === Reason.Started);
  if (started && advanced[0] && advanced[0].step !== started.step + 1 && history.indexOf(started) === 0)
    breaks.push(`${where}: history skips from the start (step ${started.step}) to step ${advanced[0].step}`);

  if (finalCheck) {
    const expected = EXPECTED_OUTCOME[t.kind];
    if (s.phase !== expected) breaks.push(`${where}: ended ${s.phase}, expected ${expected}`);
    if (expected === 'Succeeded' && (canary !== 100 || http.some((r) => r.name?.startsWith(`${t.name}-`))))
      breaks.push(`${where}: Succeeded but routes are ${JSON.stringify(http)}`);
    if (expected === 'RolledBack' && (canary !== 0 || s.currentStep !== 0))
      breaks.push(
        `${where}: RolledBack at step ${s.currentStep} with canary ${canary}%, expected step 0 and 0%`,
      );
    const events = must(
      await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(EVENTS, ns),
    ).items.filter((e) => e.regarding?.name === t.name && e.reason === Reason.Promoted);
    if (events.length > 1) breaks.push(`${where}: ${events.length} Promoted Events`);
  }
  return breaks;
}

/** Runs the campaign in a namespace of its own; deletes it at the end. */
export async function killCampaign(opts: KillCampaignOptions): Promise<KillCampaignResult> {
  const log = opts.log ?? (() => undefined);
  const rng = seededRandom(opts.seed);
  const maxLifeMs = opts.maxLifeMs ?? 3000;
  compiledOperator(); // build it once, before the first life is timed
  const client = new KubeClient(cluster.kubeConfig());
  const namespace = await testNamespace('kill');
  const ns = namespace.name;
  const result = {
    kills: 0,
    rounds: 0,
    releases: 0,
    outcomes: [] as string[],
    breaks: [] as string[],
    operatorErrors: [] as string[],
    startMs: [] as number[],
    roundMs: [] as number[],
  };
  let life: Life | undefined;
  let lives = 0;
  const startLife = async () => {
    const t0 = Date.now();
    life = spawnOperator({ namespace: ns, identity: `kill-${++lives}` });
    await waitLeading(life, `operator life ${lives}`);
    result.startMs.push(Date.now() - t0);
  };
  const kill = async () => {
    if (!life) return;
    await killHard(life);
    result.operatorErrors.push(...life.errors);
    life = undefined;
  };

  try {
    for (let round = 1; result.kills < opts.kills && round <= opts.kills; round++) {
      result.rounds = round;
      const tracked: Tracked[] = [];
      for (const kind of KINDS) {
        const service = `r${round}-${kind}`;
        must(await client.create(DESTINATION_RULES, ns, subsetRule(ns, service, ['v1', 'v2'])));
        const vs = must(await client.create(VIRTUAL_SERVICES, ns, userVirtualService(ns, service, 'v1')));
        const health = JSON.stringify((vs.spec as { http: Route[] }).http.find((r) => r.name === 'health'));
        const spec = specOf(kind, service);
        must(await client.create(CANARY_RELEASES, ns, canaryRelease(ns, service, spec)));
        tracked.push({ name: service, kind, service, spec, health, lastStep: 0, finished: false });
      }
      result.releases += tracked.length;
      const t0 = Date.now();
      const allFinished = () => tracked.every((t) => t.finished);
      // kill until the round's releases are finished or the kills are spent (bounded by both)
      while (result.kills < opts.kills && !allFinished()) {
        await startLife();
        await sleep(Math.floor(rng() * maxLifeMs));
        await kill();
        result.kills++;
        for (const t of tracked) {
          const b = await check(client, ns, t, false);
          if (b.length) log(`after kill ${result.kills}: ${b.join('; ')}`);
          result.breaks.push(...b.map((x) => `after kill ${result.kills}: ${x}`));
        }
        log(
          `kill ${result.kills}/${opts.kills} (round ${round}): ${tracked.map((t) => `${t.kind}@${t.lastStep}${t.finished ? '✓' : ''}`).join(' ')}`,
        );
      }
      if (!allFinished()) {
        // the kills are spent: one last life finishes the round
        await startLife();
        await waitFor(
          `round ${round}'s releases to finish`,
          async () => {
            for (const t of tracked) {
              const b = await check(client, ns, t, false);
              result.breaks.push(...b.map((x) => `in the last life: ${x}`));
            }
            return allFinished() ? true : undefined;
          },
          120_000,
          250,
        );
        await kill();
      }
      result.roundMs.push(Date.now() - t0);
      for (const t of tracked) {
        const b = await check(client, ns, t, true);
        result.breaks.push(...b.map((x) => `at the end: ${x}`));
        const s = must(
          await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns, name: t.name }),
        ).status as CanaryReleaseStatus | undefined;
        result.outcomes.push(`${t.name}: ${s?.phase}`);
      }
    }
  } finally {
    await kill();
    await namespace.dispose();
  }
  return result;
}
