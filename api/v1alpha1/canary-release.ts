/**
 * The `CanaryRelease` custom resource (`delivery.cdk8s-mesh.io/v1alpha1`): one zod schema is the
 * single source of its TypeScript types, of the CRD's `openAPIV3Schema` (see `crd.ts`, generated
 * into `crd.yaml` by `npm run gen:crd`) and of the validation the library and the operator run.
 *
 * Every cross-field rule is declared once with {@link rules}: the same rule is checked by zod in
 * the library and the operator, and by the apiserver as a CEL `x-kubernetes-validations` rule.
 */
import { z } from 'zod';
import { durationMs } from '../duration.js';
import { describeIssues, withReceived } from '../zod-issues.js';
import { API_VERSION, GROUP, KIND } from './names.js';

export { API_VERSION, GROUP, KIND, PLURAL, SHORT_NAMES, VERSION } from './names.js';
/** Largest number of steps a plan may have (also bounds the apiserver's CEL cost). */
export const MAX_STEPS = 64;
/** Largest number of decisions kept in `status.history`; older ones are dropped. */
export const HISTORY_LIMIT = 10;
/**
 * Write-backs of drifted weights per release (driftPolicy Reapply, or Hold once resumed): another
 * writer that keeps changing them (a GitOps controller's self-heal, a second operator) then gets a
 * hold, not a tug of war, however many steps the release has.
 */
export const DRIFT_WRITE_BACK_LIMIT = 3;

// ---------------------------------------------------------------------------------------------
// Cross-field rules: one declaration, two enforcers (zod here, CEL on the apiserver).
// ---------------------------------------------------------------------------------------------

/** One rule on an object: `cel` runs on the apiserver (`self` is the object), `holds` in zod. */
export interface Rule<T> {
  /** CEL expression over `self` that must be true. */
  readonly cel: string;
  /** The message both enforcers report: what is wrong and what to do. */
  readonly message: string;
  /** Which child field the error is about (relative, e.g. `.maxWeight`); the object itself when omitted. */
  readonly field?: string;
  /** The same rule in TypeScript. */
  readonly holds: (value: T) => boolean;
}

/** Attaches `list` to `schema`: as zod refinements and as the CRD's `x-kubernetes-validations`. */
export function rules<S extends z.ZodType>(schema: S, list: readonly Rule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of list) {
      if (!r.holds(value)) {
        const path = r.field ? r.field.replace(/^\./, '').split('.') : [];
        ctx.addIssue({ code: 'custom', message: r.message, path });
      }
    }
  });
  return refined.meta({
    'x-kubernetes-validations': list.map((r) => ({
      rule: r.cel,
      message: r.message,
      ...(r.field ? { fieldPath: r.field } : {}),
    })),
  }) as S;
}

/** The object's set fields among `keys` (set = present and not undefined). */
function setFields(value: object, keys: readonly string[]): string[] {
  return keys.filter((k) => (value as Record<string, unknown>)[k] !== undefined);
}

/** A rule that exactly one of `keys` is set (the Kubernetes union idiom). */
function exactlyOneOf<T extends object>(keys: readonly string[], what: string): Rule<T> {
  return {
    cel: keys.map((k) => `(has(self.${k}) ? 1 : 0)`).join(' + ') + ' == 1',
    message: `${what} sets exactly one of ${keys.join(', ')}`,
    holds: (v) => setFields(v, keys).length === 1,
  };
}

/** A rule that at least one of `keys` is set. */
function atLeastOneOf<T extends object>(keys: readonly string[], what: string): Rule<T> {
  return {
    cel: keys.map((k) => `has(self.${k})`).join(' || '),
    message: `${what} sets at least one of ${keys.join(', ')}`,
    holds: (v) => setFields(v, keys).length >= 1,
  };
}

/**
 * Refuses repeated items in a list the CRD declares a `set` (`key` omitted) or a `map` keyed on
 * `key`: the apiserver refuses them as `Duplicate value`, so zod does too, on the repeated item.
 */
function unique<T>(what: string, key?: keyof T & string) {
  return (items: readonly T[], ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const id = JSON.stringify(key ? item[key] : item);
      if (seen.has(id))
        ctx.addIssue({
          code: 'custom',
          message: `${what} must be unique (the apiserver refuses a repeated one); remove or rename it`,
          path: key ? [i, key] : [i],
        });
      seen.add(id);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

const DURATION_PATTERN = /^([0-9]+(ms|s|m|h))+$/;

/** The longest duration the operator honours in any field (a pause, an interval, a deadline): 30 days. */
export const MAX_DURATION = '720h';
const MAX_DURATION_MS = 720 * 3_600_000;

/**
 * A duration in Go/Kubernetes notation without sign or fraction: `30s`, `5m`, `1h30m`, `250ms`,
 * at most {@link MAX_DURATION} (so every time the operator computes from it is a valid date).
 * A subset of the grammar `parseDuration` (`../duration.ts`) reads, which gives its milliseconds.
 */
export const Duration = rules(
  z
    .string()
    .max(32)
    .regex(DURATION_PATTERN, {
      error: 'must be a duration such as 30s, 5m or 1h30m (digits and ms/s/m/h; never negative)',
    })
    .describe(
      `A duration such as 30s, 5m or 1h30m (units ms, s, m, h; never negative; at most ${MAX_DURATION}).`,
    ),
  [
    {
      cel: `duration(self) <= duration('${MAX_DURATION}')`,
      message: `must be at most ${MAX_DURATION} (30 days): use a shorter duration`,
      holds: (v) => !DURATION_PATTERN.test(v) || (durationMs(v) ?? Infinity) <= MAX_DURATION_MS,
    },
  ],
);
/** A duration string, e.g. `30s`. */
export type Duration = z.infer<typeof Duration>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const dnsLabel = (what: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(DNS_LABEL, { error: `${what} must be a DNS label: lowercase letters, digits and '-'` });
const dnsName = (what: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(DNS_SUBDOMAIN, { error: `${what} must be a DNS name: lowercase letters, digits, '-' and '.'` });

/** A traffic share in percent: an integer from 0 to 100. */
const Weight = z
  .int({ error: 'must be an integer percentage from 0 to 100' })
  .min(0, { error: 'must be an integer percentage from 0 to 100' })
  .max(100, { error: 'must be an integer percentage from 0 to 100' });

/** A percentage of requests, fractions allowed (like Istio's `Percent`). */
const Percent = z
  .number({ error: 'must be a percentage from 0 to 100' })
  .min(0, { error: 'must be a percentage from 0 to 100' })
  .max(100, { error: 'must be a percentage from 0 to 100' });

// ---------------------------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------------------------

/** One version of the service: a DestinationRule subset and, optionally, the Deployment that runs it. */
export const Version = z
  .strictObject({
    subset: dnsLabel('subset').describe(
      'Name of the DestinationRule subset of this version (e.g. v1), as used by the route destination.',
    ),
    deployment: dnsName('deployment')
      .optional()
      .describe(
        'Deployment that runs this version, in the same namespace. When set on the canary, its readiness gates progress (see progressDeadline). Default: readiness is not checked.',
      ),
    service: dnsLabel('service')
      .optional()
      .describe(
        "Service that is this version's backendRef in the HTTPRoute or GRPCRoute rule (the Gateway API has no subsets: one Service per version). Only with httpRoute or grpcRoute. Default: <service>-<subset>, e.g. reviews-v1, as the constructs synthesize.",
      ),
  })
  .describe('One version of the service.');
/** One version of the service (stable or canary). */
export type Version = z.infer<typeof Version>;

/** The canary version: a {@link Version} plus an optional revision that identifies the build. */
export const CanaryVersion = Version.extend({
  revision: z
    .string()
    .max(128)
    .optional()
    .describe(
      'Free-form identifier of the canary build (an image tag, a commit). Changing it after a finished release starts a new release. Default: none.',
    ),
}).describe('The version being released.');
/** The canary version. */
export type CanaryVersion = z.infer<typeof CanaryVersion>;

/** Marks a schema node whose content the apiserver keeps as it is (an Istio object's spec). */
const PRESERVE_UNKNOWN = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** The labels and annotations of a route object a release owns, and the spec it is written from. */
const routeTemplate = (kind: 'VirtualService' | 'HTTPRoute' | 'GRPCRoute', specDescription: string) =>
  z.strictObject({
    metadata: z
      .strictObject({
        labels: z.record(z.string(), z.string()).optional().describe(`Labels of the ${kind}. Default: none.`),
        annotations: z
          .record(z.string(), z.string())
          .optional()
          .describe(`Annotations of the ${kind}. Default: none.`),
      })
      .optional()
      .describe(`Labels and annotations of the ${kind}. Default: none.`),
    spec: z.record(z.string(), z.unknown()).meta(PRESERVE_UNKNOWN).describe(specDescription),
  });

/**
 * The VirtualService the operator writes for a release that owns it: what GitOps carries instead
 * of the VirtualService itself (see docs/releases.md, GitOps).
 */
export const VirtualServiceTemplate = routeTemplate(
  'VirtualService',
  'The VirtualService spec (networking.istio.io/v1), as Istio reads it; its HTTP route named by virtualService.route starts at the weights given here.',
).describe(
  'The VirtualService as you want it. When set, the operator owns the VirtualService: it creates it, keeps it equal to this template, and keeps its own state of the driven route (the stable and canary weights, mirror, fault, and the header routes it added) across changes of the template. Leave the VirtualService itself out of what GitOps applies. Default: none (you own the VirtualService and the operator changes only its own parts of it).',
);
/** The VirtualService a release owns, as written in the CanaryRelease. */
export type VirtualServiceTemplate = z.infer<typeof VirtualServiceTemplate>;

/**
 * The HTTPRoute or GRPCRoute the operator writes for a release that owns it: what GitOps carries
 * instead of the route itself (see docs/releases.md, GitOps).
 */
const gatewayRouteTemplate = (kind: 'HTTPRoute' | 'GRPCRoute', field: string) =>
  routeTemplate(
    kind,
    `The ${kind} spec (gateway.networking.k8s.io/v1), as the Gateway API reads it; its rule named by ${field}.rule starts at the backendRef weights given here.`,
  ).describe(
    `The ${kind} as you want it. When set, the operator owns the ${kind}: it creates it, keeps it equal to this template, and keeps its own state of the driven rule (the stable and canary backendRef weights, the RequestMirror filter to the canary, and the header rules it added) across changes of the template. Leave the ${kind} itself out of what GitOps applies. Default: none (you own the ${kind} and the operator changes only its own parts of it).`,
  );
/** The HTTPRoute a release owns, as written in the CanaryRelease. */
export const HttpRouteTemplate = gatewayRouteTemplate('HTTPRoute', 'httpRoute');
/** The HTTPRoute a release owns, as written in the CanaryRelease. */
export type HttpRouteTemplate = z.infer<typeof HttpRouteTemplate>;
/** The GRPCRoute a release owns, as written in the CanaryRelease. */
export const GrpcRouteTemplate = gatewayRouteTemplate('GRPCRoute', 'grpcRoute');
/** The GRPCRoute a release owns, as written in the CanaryRelease. */
export type GrpcRouteTemplate = z.infer<typeof GrpcRouteTemplate>;

/** The names of the entries of a template's route list (`http` or `rules`) and the problem if `want` is not among them. */
function missingRouteProblem(list: unknown, want: string, field: string, listName: string): string[] {
  const names = Array.isArray(list)
    ? list.map((r) => (r && typeof r === 'object' ? (r as { name?: unknown }).name : undefined))
    : [];
  if (names.includes(want)) return [];
  return [
    `${listName} has no ${listName === 'http' ? 'route' : 'rule'} named "${want}" (${field}); it has ${
      names
        .filter((n) => typeof n === 'string')
        .map((n) => `"${String(n)}"`)
        .join(', ') || 'none'
    }`,
  ];
}

/** The problems of a Gateway API route template with the rule it must hold (zod only: the spec is schemaless to the apiserver). */
function gatewayTemplateProblems(
  ref: { rule: string; template?: { spec: Record<string, unknown> } },
  field: string,
): string[] {
  const spec = ref.template?.spec;
  if (!spec) return [];
  const out: string[] = [];
  const parents = spec.parentRefs;
  if (
    !Array.isArray(parents) ||
    parents.length === 0 ||
    !parents.every((p) => p && typeof p === 'object' && typeof (p as { name?: unknown }).name === 'string')
  )
    out.push(
      'parentRefs must list at least one parent (a Service or a Gateway) by name, as in a route of the Gateway API',
    );
  out.push(...missingRouteProblem(spec.rules, ref.rule, `${field}.rule`, 'rules'));
  return out;
}

/** The problems of a template with the route it must hold (zod only: the spec is schemaless to the apiserver). */
function templateProblems(ref: { route: string; template?: VirtualServiceTemplate }): string[] {
  const spec = ref.template?.spec;
  if (!spec) return [];
  const out: string[] = [];
  const hosts = spec.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((h) => typeof h === 'string' && h !== ''))
    out.push('hosts must list at least one host, as in a VirtualService');
  out.push(...missingRouteProblem(spec.http, ref.route, 'virtualService.route', 'http'));
  return out;
}

/** Which route of which VirtualService the release drives. */
export const RouteRef = z
  .strictObject({
    name: dnsName('virtualService.name').describe(
      'Name of the VirtualService, in the same namespace. Without a template you own it: the operator changes only the weights of the named route and the header, mirror and fault routes it adds.',
    ),
    route: z
      .string()
      .min(1)
      .max(253)
      .describe(
        'Name of the HTTP route in the VirtualService (spec.http[].name) whose stable/canary weights are shifted.',
      ),
    template: VirtualServiceTemplate.optional(),
  })
  .superRefine((ref, ctx) => {
    for (const message of templateProblems(ref))
      ctx.addIssue({ code: 'custom', message, path: ['template', 'spec'] });
  })
  .describe('The VirtualService route the release drives.');
/** The VirtualService route a release drives. */
export type RouteRef = z.infer<typeof RouteRef>;

/** The name of an HTTPRoute or GRPCRoute rule (the Gateway API's `SectionName`). */
const RULE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Which rule of which HTTPRoute or GRPCRoute (Gateway API) the release drives. */
const gatewayRouteRef = (
  kind: 'HTTPRoute' | 'GRPCRoute',
  field: string,
  template: typeof HttpRouteTemplate | typeof GrpcRouteTemplate,
) =>
  z
    .strictObject({
      name: dnsName(`${field}.name`).describe(
        `Name of the ${kind}, in the same namespace. Without a template you own it: the operator changes only the weights of the stable and canary backendRefs of the named rule, its mirror filter to the canary, and the header rules it adds.`,
      ),
      rule: z
        .string()
        .min(1)
        .max(253)
        .regex(RULE_NAME, {
          error: `${field}.rule must be a rule name: lowercase letters, digits, '-' and '.'`,
        })
        .describe(
          `Name of the rule in the ${kind} (spec.rules[].name) whose stable/canary backendRef weights are shifted.`,
        ),
      template: template.optional(),
    })
    .superRefine((ref, ctx) => {
      for (const message of gatewayTemplateProblems(ref, field))
        ctx.addIssue({ code: 'custom', message, path: ['template', 'spec'] });
    })
    .describe(`The ${kind} rule the release drives.`);

/** The HTTPRoute rule a release drives. */
export const HttpRouteRef = gatewayRouteRef('HTTPRoute', 'httpRoute', HttpRouteTemplate);
/** The HTTPRoute rule a release drives. */
export type HttpRouteRef = z.infer<typeof HttpRouteRef>;
/** The GRPCRoute rule a release drives. */
export const GrpcRouteRef = gatewayRouteRef('GRPCRoute', 'grpcRoute', GrpcRouteTemplate);
/** The GRPCRoute rule a release drives. */
export type GrpcRouteRef = z.infer<typeof GrpcRouteRef>;

/** The spec fields that name the driven route; exactly one is set. */
export const ROUTE_FIELDS = ['virtualService', 'httpRoute', 'grpcRoute'] as const;

/** How requests of the service are counted as errors by the built-in success rate. */
export const RequestProtocol = z.enum(['http', 'grpc']);
/** Request protocol of the released service. */
export type RequestProtocol = z.infer<typeof RequestProtocol>;

/** How a header value is matched: exactly one of exact, prefix or regex (as in Istio's StringMatch). */
export const StringMatch = rules(
  z
    .strictObject({
      exact: z.string().max(1024).optional().describe('The value equals this string.'),
      prefix: z.string().max(1024).optional().describe('The value starts with this string.'),
      regex: z.string().max(1024).optional().describe('The value matches this RE2 regular expression.'),
    })
    .describe('How a header value is matched: exactly one of exact, prefix, regex.'),
  [exactlyOneOf(['exact', 'prefix', 'regex'], 'a header match')],
);
/** How a header value is matched. */
export type StringMatch = z.infer<typeof StringMatch>;

/** A step that holds the current weights: for a duration, or until resumed (a manual gate). */
export const PauseStep = z
  .strictObject({
    duration: Duration.optional().describe(
      'How long to hold. Default: no duration, a manual gate that waits for `resume` (annotation delivery.cdk8s-mesh.io/resume). Analysis keeps running during a pause and still rolls back.',
    ),
  })
  .describe('Hold the current weights for a duration, or until resumed when no duration is given.');
/** A pause step. */
export type PauseStep = z.infer<typeof PauseStep>;

/** A step that adds a route sending requests with matching headers to the canary (A/B). */
export const HeaderRouteStep = z
  .strictObject({
    name: dnsLabel('headerRoute.name').describe(
      'Name of the header route, unique in the plan; the route is named `<release>-<name>` in the VirtualService.',
    ),
    headers: z
      .record(z.string().min(1).max(256), StringMatch)
      .refine((h) => Object.keys(h).length > 0, { error: 'name at least one header to match' })
      .describe('Request headers (lowercase names) that must all match, e.g. end-user: {exact: jason}.')
      .meta({ minProperties: 1 }),
  })
  .describe(
    'Send requests whose headers match to the canary, before the weighted route. The route stays until the release ends.',
  );
/** A header route step. */
export type HeaderRouteStep = z.infer<typeof HeaderRouteStep>;

/** A step that mirrors a share of the route's traffic to the canary (responses are discarded). */
export const MirrorStep = z
  .strictObject({
    percentage: Percent.describe('Share of the route’s requests copied to the canary, in percent.'),
    duration: Duration.optional().describe(
      'How long to mirror. Default: until the first passing analysis check (at least one interval).',
    ),
  })
  .describe('Mirror a share of the traffic to the canary during this step; responses are discarded.');
/** A mirror step. */
export type MirrorStep = z.infer<typeof MirrorStep>;

/** Built-in success-rate SLO on Istio's `istio_requests_total`. */
export const SuccessRateSlo = z
  .strictObject({
    min: Percent.describe('Lowest acceptable share of non-5xx responses, in percent (e.g. 99).'),
  })
  .describe('Request success rate (non-5xx share of istio_requests_total) must be at least min.');
/** Success-rate SLO. */
export type SuccessRateSlo = z.infer<typeof SuccessRateSlo>;

/** Built-in latency SLO on Istio's `istio_request_duration_milliseconds_bucket`. */
export const LatencySlo = z
  .strictObject({
    max: Duration.describe('Highest acceptable p99 request duration, e.g. 500ms.'),
  })
  .describe('p99 request duration (istio_request_duration_milliseconds_bucket) must be at most max.');
/** Latency SLO. */
export type LatencySlo = z.infer<typeof LatencySlo>;

/** A fault injected into the canary's traffic for a window, with the SLOs that must hold meanwhile. */
export const FaultTestStep = rules(
  z
    .strictObject({
      delay: z
        .strictObject({
          fixedDelay: Duration.describe('Delay added before forwarding, e.g. 7s.'),
          percentage: Percent.default(100).describe('Share of canary requests delayed. Default: 100.'),
        })
        .optional()
        .describe('Inject a fixed delay (Istio HTTPFaultInjection.delay).'),
      abort: z
        .strictObject({
          httpStatus: z
            .int()
            .min(200)
            .max(599)
            .describe('HTTP status returned instead of forwarding, e.g. 503.'),
          percentage: Percent.default(100).describe('Share of canary requests aborted. Default: 100.'),
        })
        .optional()
        .describe('Abort requests with an HTTP status (Istio HTTPFaultInjection.abort).'),
      duration: Duration.describe('How long the fault is injected.'),
      successRate: SuccessRateSlo.optional().describe(
        'Success-rate SLO during the fault window; replaces analysis.successRate. Default: none.',
      ),
      latencyP99: LatencySlo.optional().describe(
        'Latency SLO during the fault window; replaces analysis.latencyP99. Default: none.',
      ),
    })
    .describe(
      'Inject a delay and/or abort into the canary’s traffic for a window; the step passes when its SLOs (and the custom metrics) hold. The fault is removed when the step ends.',
    ),
  [atLeastOneOf(['delay', 'abort'], 'a faultTest')],
);
/** A fault test step. */
export type FaultTestStep = z.infer<typeof FaultTestStep>;

/** The step kinds, in the order they are listed in messages. */
export const STEP_KINDS = ['setWeight', 'pause', 'headerRoute', 'mirror', 'faultTest'] as const;
/** One of {@link STEP_KINDS}. */
export type StepKind = (typeof STEP_KINDS)[number];

/** One step of the plan: an object with exactly one of the step fields set. */
export const Step = rules(
  z
    .strictObject({
      setWeight: Weight.optional().describe(
        'Route this percentage of the route’s traffic to the canary (the rest to stable).',
      ),
      pause: PauseStep.optional(),
      headerRoute: HeaderRouteStep.optional(),
      mirror: MirrorStep.optional(),
      faultTest: FaultTestStep.optional(),
    })
    .describe(`One step of the plan; sets exactly one of ${STEP_KINDS.join(', ')}.`),
  [exactlyOneOf(STEP_KINDS, 'a step')],
);
/** One step of the plan. */
export type Step = z.infer<typeof Step>;

/** A custom PromQL check. */
export const MetricCheck = rules(
  z
    .strictObject({
      name: dnsLabel('metric name').describe('Name of the check, unique in the analysis; shown in status.'),
      query: z
        .string()
        .min(1)
        .max(4096)
        .describe(
          'PromQL returning one number. Placeholders: {{namespace}}, {{service}}, {{subset}} (the canary’s), {{interval}}.',
        ),
      min: z.number().optional().describe('Lowest acceptable value. Default: no lower bound.'),
      max: z.number().optional().describe('Highest acceptable value. Default: no upper bound.'),
    })
    .describe('A custom PromQL check with a lower and/or upper bound.'),
  [
    atLeastOneOf(['min', 'max'], 'a metric'),
    {
      cel: '!has(self.min) || !has(self.max) || self.min <= self.max',
      message: 'a metric’s min must not exceed its max',
      field: '.min',
      holds: (m) => m.min === undefined || m.max === undefined || m.min <= m.max,
    },
  ],
);
/** A custom PromQL check. */
export type MetricCheck = z.infer<typeof MetricCheck>;

/** How far the canary may fall behind stable. */
export const CompareToStable = rules(
  z
    .strictObject({
      maxSuccessRateDrop: Percent.optional().describe(
        'The canary’s success rate may be lower than stable’s by at most this many percentage points.',
      ),
      maxLatencyIncrease: z
        .int()
        .min(0)
        .max(10_000)
        .optional()
        .describe('The canary’s p99 latency may exceed stable’s by at most this many percent.'),
    })
    .describe('Canary-versus-stable comparison on the built-in metrics, measured over the same interval.'),
  [atLeastOneOf(['maxSuccessRateDrop', 'maxLatencyIncrease'], 'compareToStable')],
);
/** Canary-versus-stable comparison. */
export type CompareToStable = z.infer<typeof CompareToStable>;

/** What a check does when a metric has no data or its query fails. */
export const MissingDataPolicy = z.enum(['Hold', 'Fail', 'FailAfterDeadline']);
/** Missing-data policy. */
export type MissingDataPolicy = z.infer<typeof MissingDataPolicy>;

/** The missing-data behaviour. */
export const MissingData = rules(
  z
    .strictObject({
      policy: MissingDataPolicy.describe(
        'Hold: do not advance, count nothing. Fail: count the check as failed. FailAfterDeadline: hold, and count as failed once data has been missing longer than deadline.',
      ),
      deadline: Duration.optional().describe('Required with FailAfterDeadline.'),
    })
    .describe('What a check does when a query returns no data or fails. Nothing is ever promoted on it.'),
  [
    {
      cel: "(self.policy == 'FailAfterDeadline') == has(self.deadline)",
      message: 'missingData.deadline is required with policy FailAfterDeadline and allowed only with it',
      field: '.deadline',
      holds: (m) => (m.policy === 'FailAfterDeadline') === (m.deadline !== undefined),
    },
  ],
);
/** Missing-data behaviour. */
export type MissingData = z.infer<typeof MissingData>;

/** Default of `spec.analysis` when it is omitted. */
export const DEFAULT_ANALYSIS = {
  interval: '1m',
  threshold: 3,
  successRate: { min: 99 },
  missingData: { policy: 'FailAfterDeadline', deadline: '5m' },
} as const;

/** The checks that gate every step. */
export const Analysis = z
  .strictObject({
    interval: rules(Duration, [
      {
        cel: "duration(self) >= duration('1s') && duration(self) <= duration('24h')",
        message: 'must be from 1s to 24h: the operator queries Prometheus once per interval',
        holds: (v) => {
          const ms = durationMs(v);
          return ms === undefined || ms > MAX_DURATION_MS || (ms >= 1000 && ms <= 86_400_000);
        },
      },
    ])
      .default(DEFAULT_ANALYSIS.interval)
      .describe('Time between checks (1s to 24h); also the shortest time a step lasts. Default: 1m.'),
    threshold: z
      .int()
      .min(1)
      .max(100)
      .default(DEFAULT_ANALYSIS.threshold)
      .describe(
        'Consecutive failed checks that roll back the release at once, in any step including manual gates. Default: 3.',
      ),
    successRate: SuccessRateSlo.optional(),
    latencyP99: LatencySlo.optional(),
    compareToStable: CompareToStable.optional(),
    metrics: z
      .array(MetricCheck)
      .max(16)
      .superRefine(unique<MetricCheck>('metric names', 'name'))
      .optional()
      .describe('Custom PromQL checks. Default: none.')
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    missingData: MissingData.default({ ...DEFAULT_ANALYSIS.missingData }),
  })
  .describe(
    'The checks that gate every step. Default when omitted: interval 1m, threshold 3, successRate.min 99, missingData FailAfterDeadline 5m. With no SLO and no metric, steps advance on time alone.',
  );
/** The analysis. */
export type Analysis = z.infer<typeof Analysis>;

/** What the drift of the route's weights (someone else edited them) makes the operator do. */
export const DriftPolicy = z.enum(['Hold', 'Reapply', 'RollBack']);
/** Drift policy. */
export type DriftPolicy = z.infer<typeof DriftPolicy>;

/** Events a webhook can be notified of. */
export const WebhookEvent = z.enum([
  'Started',
  'StepAdvanced',
  'WaitingForApproval',
  'Promoted',
  'RolledBack',
]);
/** A webhook event. */
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** A URL notified (HTTP POST, JSON) of release events. */
export const Webhook = z
  .strictObject({
    name: dnsLabel('webhook name').describe('Name of the webhook, unique in the list.'),
    url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s]+$/, { error: 'must be an http:// or https:// URL' })
      .describe('URL that receives a JSON POST per event.'),
    events: z
      .array(WebhookEvent)
      .max(8)
      .superRefine(unique<WebhookEvent>('webhook events'))
      .optional()
      .describe('Events to send. Default: all of them.')
      .meta({ 'x-kubernetes-list-type': 'set' }),
  })
  .describe('A URL notified of release events.');
/** A webhook. */
export type Webhook = z.infer<typeof Webhook>;

/** Default of `spec.scaleDown.delay`: Argo Rollouts' `scaleDownDelaySeconds` default. */
export const DEFAULT_SCALE_DOWN_DELAY = '30s';

/** What happens to the Deployment of the version that lost (old stable after a promotion, canary after a rollback). */
export const ScaleDown = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Scale the losing version’s Deployment to 0 replicas once the release has ended. false leaves it running. Default: true.',
      ),
    delay: Duration.default(DEFAULT_SCALE_DOWN_DELAY).describe(
      'How long after the end of the release, with its final routes read back, the losing Deployment keeps its replicas (requests in flight finish, a quick abort can return). Default: 30s.',
    ),
  })
  .describe(
    'Scale the Deployment of the version that lost to 0 after the release ends: the old stable after a promotion, the canary after a rollback. Never while a route of the VirtualService still sends it traffic; the replicas it had are recorded in status.scaledDown and restored when a later release needs that version again. A HorizontalPodAutoscaler targeting it stops acting at 0 replicas (Kubernetes disables scaling of a target at zero) and resumes once the replicas are restored.',
  );
/** Scale-down of the losing version. */
export type ScaleDown = z.infer<typeof ScaleDown>;

/** The desired release. */
export const CanaryReleaseSpec = rules(
  z
    .strictObject({
      service: dnsName('service').describe(
        'Host of the service being released, as in the route destinations.',
      ),
      protocol: RequestProtocol.optional().describe(
        "How the built-in success rate counts errors. http: a 5xx response is an error. grpc: a response whose grpc-status is not OK (0) is an error too, since gRPC errors answer HTTP 200 (Istio's grpc_response_status). Default: grpc with grpcRoute, http otherwise.",
      ),
      stable: Version.describe('The version serving traffic now.'),
      canary: CanaryVersion,
      virtualService: RouteRef.optional().describe(
        'The VirtualService route the release drives. Set exactly one of virtualService, httpRoute, grpcRoute.',
      ),
      httpRoute: HttpRouteRef.optional().describe(
        'The HTTPRoute rule the release drives (Gateway API). Set exactly one of virtualService, httpRoute, grpcRoute.',
      ),
      grpcRoute: GrpcRouteRef.optional().describe(
        'The GRPCRoute rule the release drives (Gateway API). Set exactly one of virtualService, httpRoute, grpcRoute.',
      ),
      steps: z
        .array(Step)
        .min(1)
        .max(MAX_STEPS)
        .optional()
        .describe(
          'The plan, run in order with no step skipped; set either steps or stepWeight/maxWeight. After the last step the canary is promoted.',
        ),
      stepWeight: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe(
          'Short form of the plan: raise the canary weight by this much per step up to maxWeight, then promote.',
        ),
      maxWeight: z.int().min(1).max(100).optional().describe('Highest canary weight of the short form.'),
      analysis: Analysis.default({ ...DEFAULT_ANALYSIS, successRate: { ...DEFAULT_ANALYSIS.successRate } }),
      progressDeadline: Duration.default('10m').describe(
        'How long the canary Deployment may stay not ready before the release is rolled back. Default: 10m.',
      ),
      driftPolicy: DriftPolicy.default('Hold').describe(
        'When the route’s weights differ from what the operator set (someone else edited the VirtualService). Hold: stop advancing and change nothing until the weights are back or the step is resumed, which reapplies them. Reapply: write them back. RollBack: roll back. Default: Hold.',
      ),
      promotion: z
        .strictObject({
          manualApproval: z
            .boolean()
            .default(false)
            .describe('Wait for resume after the last step before promoting. Default: false.'),
        })
        .default({ manualApproval: false })
        .describe('How the canary is promoted: all of the route’s traffic goes to the canary subset.'),
      rollback: z
        .strictObject({
          keepHeaderRoutes: z
            .boolean()
            .default(false)
            .describe('Keep header routes to the canary after a rollback, for debugging. Default: false.'),
        })
        .default({ keepHeaderRoutes: false })
        .describe('How the release is rolled back: all of the route’s traffic goes to the stable subset.'),
      scaleDown: ScaleDown.default({ enabled: true, delay: DEFAULT_SCALE_DOWN_DELAY }),
      webhooks: z
        .array(Webhook)
        .max(8)
        .superRefine(unique<Webhook>('webhook names', 'name'))
        .optional()
        .describe('URLs notified of release events. Default: none.')
        .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    })
    .describe('The desired release: which route to shift, the plan, and the checks that gate it.'),
  [
    exactlyOneOf(ROUTE_FIELDS, 'a CanaryRelease'),
    {
      cel: 'has(self.virtualService) ? !has(self.stable.service) && !has(self.canary.service) : true',
      message:
        'stable.service and canary.service name the backend Services of an httpRoute or grpcRoute rule; a virtualService routes to subsets: drop them',
      field: '.virtualService',
      holds: (s) =>
        s.virtualService === undefined || (s.stable.service === undefined && s.canary.service === undefined),
    },
    {
      cel: '!has(self.stable.service) || !has(self.canary.service) || self.stable.service != self.canary.service',
      message: 'stable.service and canary.service must differ: each version needs a Service of its own',
      field: '.canary.service',
      holds: (s) =>
        s.stable.service === undefined ||
        s.canary.service === undefined ||
        s.stable.service !== s.canary.service,
    },
    {
      cel: 'has(self.virtualService) || !has(self.steps) || self.steps.all(st, !has(st.faultTest))',
      message:
        'faultTest steps need a virtualService: the Gateway API has no fault injection field (HTTPRoute and GRPCRoute filters modify headers, redirect, rewrite and mirror); drop the faultTest or drive a VirtualService route',
      field: '.steps',
      holds: (s) =>
        s.virtualService !== undefined || !(s.steps ?? []).some((st) => st.faultTest !== undefined),
    },
    {
      cel: 'has(self.steps) != has(self.stepWeight)',
      message: 'set either steps or stepWeight (with maxWeight), not both and not neither',
      holds: (s) => (s.steps !== undefined) !== (s.stepWeight !== undefined),
    },
    {
      cel: 'has(self.stepWeight) == has(self.maxWeight)',
      message: 'stepWeight and maxWeight go together: set both or neither',
      field: '.maxWeight',
      holds: (s) => (s.stepWeight !== undefined) === (s.maxWeight !== undefined),
    },
    {
      cel: '!has(self.stepWeight) || !has(self.maxWeight) || self.stepWeight <= self.maxWeight',
      message: 'stepWeight must not exceed maxWeight',
      field: '.stepWeight',
      holds: (s) => s.stepWeight === undefined || s.maxWeight === undefined || s.stepWeight <= s.maxWeight,
    },
    {
      cel: 'self.stable.subset != self.canary.subset',
      message: 'stable.subset and canary.subset must differ',
      field: '.canary.subset',
      holds: (s) => s.stable.subset !== s.canary.subset,
    },
    {
      cel: '!has(self.steps) || self.steps.all(a, !has(a.headerRoute) || self.steps.exists_one(b, has(b.headerRoute) && b.headerRoute.name == a.headerRoute.name))',
      message: 'headerRoute names must be unique in the plan',
      field: '.steps',
      holds: (s) => {
        const names = (s.steps ?? []).flatMap((st) => (st.headerRoute ? [st.headerRoute.name] : []));
        return new Set(names).size === names.length;
      },
    },
  ],
);
/** The desired release, as stored (defaults applied). */
export type CanaryReleaseSpec = z.infer<typeof CanaryReleaseSpec>;
/** The desired release, as written by a user (defaults optional). */
export type CanaryReleaseSpecInput = z.input<typeof CanaryReleaseSpec>;

/** The kinds of route object a release can drive. */
export type RouteKind = 'VirtualService' | 'HTTPRoute' | 'GRPCRoute';

/** The route a valid spec drives, whichever field names it. */
export interface DrivenRoute {
  readonly kind: RouteKind;
  /** Name of the VirtualService, HTTPRoute or GRPCRoute. */
  readonly name: string;
  /** Name of the driven route: `spec.http[].name` of a VirtualService, `spec.rules[].name` of the others. */
  readonly route: string;
  /** The spec field that names it, for messages: `virtualService`, `httpRoute` or `grpcRoute`. */
  readonly field: 'virtualService' | 'httpRoute' | 'grpcRoute';
  /** The field of `field` that names the route: `route` or `rule`. */
  readonly routeField: 'route' | 'rule';
}

/** The route a valid spec drives (exactly one of its route fields is set). */
export function drivenRoute(spec: Pick<CanaryReleaseSpec, (typeof ROUTE_FIELDS)[number]>): DrivenRoute {
  if (spec.httpRoute)
    return {
      kind: 'HTTPRoute',
      name: spec.httpRoute.name,
      route: spec.httpRoute.rule,
      field: 'httpRoute',
      routeField: 'rule',
    };
  if (spec.grpcRoute)
    return {
      kind: 'GRPCRoute',
      name: spec.grpcRoute.name,
      route: spec.grpcRoute.rule,
      field: 'grpcRoute',
      routeField: 'rule',
    };
  const vs = spec.virtualService!;
  return {
    kind: 'VirtualService',
    name: vs.name,
    route: vs.route,
    field: 'virtualService',
    routeField: 'route',
  };
}

/**
 * The Service that is a version's backendRef on a Gateway API route: the version's `service`, or
 * `<short service name>-<subset>` (what the constructs synthesize).
 */
export function backendServiceOf(
  spec: Pick<CanaryReleaseSpec, 'service' | 'stable' | 'canary'>,
  which: 'stable' | 'canary',
): string {
  const v = spec[which];
  return v.service ?? `${spec.service.split('.')[0]!}-${v.subset}`;
}

/** The request protocol the built-in success rate counts by: the spec's, or grpc for a grpcRoute. */
export function protocolOf(spec: Pick<CanaryReleaseSpec, 'protocol' | 'grpcRoute'>): RequestProtocol {
  return spec.protocol ?? (spec.grpcRoute ? 'grpc' : 'http');
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/** Lifecycle of a release. */
export const Phase = z.enum(['Initializing', 'Progressing', 'Paused', 'Succeeded', 'RolledBack', 'Invalid']);
/** Lifecycle phase. */
export type Phase = z.infer<typeof Phase>;

const Timestamp = z.iso.datetime({ offset: false });

/** Outcome of one measurement. */
export const MeasurementResult = z.enum(['Pass', 'Fail', 'NoData', 'QueryFailed']);
/** Outcome of one measurement. */
export type MeasurementResult = z.infer<typeof MeasurementResult>;

/** One measured value of one check. */
export const Measurement = z
  .object({
    name: z
      .string()
      .max(63)
      .describe('The check: request-success-rate, request-duration-p99 or a metric name.'),
    result: MeasurementResult.describe('Pass, Fail, NoData or QueryFailed.'),
    value: z.number().optional().describe('The canary’s value, when there was one.'),
    stableValue: z.number().optional().describe('Stable’s value, when compared.'),
    message: z.string().max(1024).optional().describe('Why it failed, in words.'),
  })
  .describe('One measured value of one check.');
/** One measurement. */
export type Measurement = z.infer<typeof Measurement>;

/** A Kubernetes-style condition (metav1.Condition). */
export const Condition = z
  .object({
    type: z.string().max(316).describe('Valid, Progressing or Healthy.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: z.int().min(0).optional().describe('The .metadata.generation it was set for.'),
    lastTransitionTime: Timestamp.describe('When status last changed.'),
    reason: z.string().max(1024).describe('CamelCase reason.'),
    message: z.string().max(32768).describe('Human-readable details, with the fix.'),
  })
  .describe('A Kubernetes-style condition.');
/** A condition. */
export type Condition = z.infer<typeof Condition>;

/** Where the scale-down of the losing version of this release stands. */
export const ScaleDownState = z.enum(['Waiting', 'Held', 'ScalingDown', 'ScaledDown', 'LeftAlone']);
/** Scale-down state. */
export type ScaleDownState = z.infer<typeof ScaleDownState>;

/** The scale-down of the version that lost this release. */
export const ScaleDownStatus = z
  .object({
    deployment: dnsName('deployment').describe('The losing version’s Deployment.'),
    subset: dnsLabel('subset').describe('The losing version’s subset.'),
    state: ScaleDownState.describe(
      'Waiting: for scaleDown.delay. Held: a route still sends it traffic. ScalingDown: the write to 0 replicas is under way. ScaledDown: it has 0 replicas. LeftAlone: scale-down is off, or there is nothing to scale.',
    ),
    dueAt: Timestamp.optional().describe('When the delay ends.'),
    message: z.string().max(1024).describe('What happens to it and why.'),
  })
  .describe('The scale-down of the version that lost this release.');
/** Scale-down status. */
export type ScaleDownStatus = z.infer<typeof ScaleDownStatus>;

/** A Deployment the operator scaled to 0, with the replicas to give back. */
export const ScaledDownDeployment = z
  .object({
    deployment: dnsName('deployment').describe('The Deployment, in the release’s namespace.'),
    subset: dnsLabel('subset').describe('The version (subset) it runs.'),
    replicas: z
      .int()
      .min(1)
      .describe('Its replicas before the scale-down; restored when a release needs it.'),
  })
  .describe('A Deployment the operator scaled to 0.');
/** A scaled-down Deployment. */
export type ScaledDownDeployment = z.infer<typeof ScaledDownDeployment>;

/** Largest number of scaled-down Deployments remembered in `status.scaledDown`. */
export const SCALED_DOWN_LIMIT = 8;

/** One entry of the decision history. */
export const HistoryEntry = z
  .object({
    time: Timestamp.describe('When the decision was made.'),
    phase: Phase.describe('The phase it led to.'),
    step: z.int().min(0).describe('The step it led to.'),
    canaryWeight: z.int().min(0).max(100).describe('The canary weight it led to.'),
    reason: z.string().max(128).describe('CamelCase reason.'),
    message: z.string().max(1024).describe('What happened and why.'),
  })
  .describe('One decision that changed the phase or step.');
/** One history entry. */
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** The observed state of a release; everything the operator needs after a restart. */
export const CanaryReleaseStatus = z
  .object({
    observedGeneration: z.int().min(0).describe('The .metadata.generation this status was computed for.'),
    release: z
      .string()
      .max(1024)
      .describe(
        'Identity of the release (service, subsets, canary revision); a change starts a new release.',
      ),
    phase: Phase.describe('Initializing, Progressing, Paused, Succeeded, RolledBack or Invalid.'),
    currentStep: z
      .int()
      .min(0)
      .describe(
        'Index of the current step in the plan (the short form expanded); equals the step count while promoting.',
      ),
    totalSteps: z.int().min(0).describe('Number of steps in the plan (the short form expanded).'),
    canaryWeight: z.int().min(0).max(100).describe('Canary weight of the current step, in percent.'),
    stepStartedAt: Timestamp.describe('When the current step started.'),
    lastCheckAt: Timestamp.optional().describe(
      'When the last analysis check that found something new ran in this step; a check that finds what the last one found is not written, and checks are due at multiples of the interval from stepStartedAt.',
    ),
    lastCheckPassed: z.boolean().optional().describe('Whether the last check in this step passed.'),
    consecutiveFailures: z.int().min(0).describe('Failed checks in a row; threshold of them roll back.'),
    missingDataSince: Timestamp.optional().describe('Since when checks have had missing data, if they have.'),
    canaryNotReadySince: Timestamp.optional().describe(
      'Since when the canary Deployment has not been ready.',
    ),
    weightsWrittenBack: z
      .int()
      .min(0)
      .max(DRIFT_WRITE_BACK_LIMIT)
      .optional()
      .describe(
        `Times in this release the operator wrote its weights back over someone else's; after ${DRIFT_WRITE_BACK_LIMIT} it holds instead.`,
      ),
    routesSettled: z
      .boolean()
      .optional()
      .describe(
        'Set once the final routes of a finished release have been read back; from then on the VirtualService is left alone.',
      ),
    scaleDown: ScaleDownStatus.optional().describe(
      'The scale-down of the losing version, once the release has ended.',
    ),
    scaledDown: z
      .array(ScaledDownDeployment)
      .max(SCALED_DOWN_LIMIT)
      .optional()
      .describe(
        `Deployments this release scaled to 0 (the last ${SCALED_DOWN_LIMIT}), with the replicas restored when a release needs them again.`,
      )
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['deployment'] }),
    successRate: z.number().optional().describe('Last measured canary success rate, in percent.'),
    lastMeasurements: z.array(Measurement).max(32).optional().describe('Measurements of the last check.'),
    message: z.string().max(1024).optional().describe('What the release is doing or waiting for.'),
    conditions: z
      .array(Condition)
      .max(8)
      .optional()
      .describe('Valid, Progressing and Healthy.')
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
    history: z
      .array(HistoryEntry)
      .max(HISTORY_LIMIT)
      .optional()
      .describe(`The last ${HISTORY_LIMIT} decisions that changed the phase or step, oldest first.`),
  })
  .describe('The observed state of the release; written only by the operator.');
/** The observed state of a release. */
export type CanaryReleaseStatus = z.infer<typeof CanaryReleaseStatus>;

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

/** A whole `CanaryRelease` object. */
export const CanaryRelease = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: z
    .object({
      name: dnsName('metadata.name'),
      namespace: dnsLabel('metadata.namespace').optional(),
      generation: z.int().optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .loose(),
  spec: CanaryReleaseSpec,
  status: CanaryReleaseStatus.optional(),
});
/** A `CanaryRelease` object (defaults applied). */
export type CanaryRelease = z.infer<typeof CanaryRelease>;
/** A `CanaryRelease` object as written (defaults optional). */
export type CanaryReleaseInput = z.input<typeof CanaryRelease>;

// ---------------------------------------------------------------------------------------------
// Validation results and control annotations
// ---------------------------------------------------------------------------------------------

/** One problem in a spec: the field path (`.spec.steps[2].setWeight`) and what to do. */
export interface SpecProblem {
  /** JSONPath-like field path from the object root, e.g. `.spec.steps[2].setWeight`. */
  readonly field: string;
  /** What is wrong, what was received, and what to do. */
  readonly message: string;
}

/** Result of {@link parseSpec}. */
export type SpecResult =
  | { readonly ok: true; readonly spec: CanaryReleaseSpec }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

/**
 * Validates a spec as read from the cluster or written by a user. Never throws: problems come
 * back with the field path (`.spec…`) and a message that says what to do.
 */
export function parseSpec(input: unknown): SpecResult {
  const r = CanaryReleaseSpec.safeParse(input);
  if (r.success) return { ok: true, spec: r.data };
  const problems = describeIssues(r.error.issues, input, '.spec').map((p) => ({
    field: p.field,
    message: withReceived(p),
  }));
  return { ok: false, problems };
}

/** Annotation that approves a manual gate: value `<generation>/<step>` (see {@link resumeValue}). */
export const RESUME_ANNOTATION = `${GROUP}/resume`;
/** Annotation that aborts (rolls back) a release: value `<generation>`. */
export const ABORT_ANNOTATION = `${GROUP}/abort`;
/**
 * On a VirtualService a release owns (`virtualService.template`): `<release>/<digest>`, the
 * CanaryRelease that writes it and the digest of the template it last wrote. The operator writes
 * the template again only when the digest changes.
 */
export const TEMPLATE_ANNOTATION = `${GROUP}/template`;

/** Commands a user (or the CLI) gives a running release through annotations. */
export interface Commands {
  /** Resume the step `step` of the release at `generation` (a manual gate, a drift hold, the promotion approval). */
  readonly resume?: { readonly generation: number; readonly step: number };
  /** Abort the release at `generation`: roll back now. */
  readonly abort?: { readonly generation: number };
}

/** The value of {@link RESUME_ANNOTATION} that resumes `step` of the release at `generation`. */
export function resumeValue(generation: number, step: number): string {
  return `${generation}/${step}`;
}

/**
 * Reads the control annotations. A value that does not parse is ignored (it cannot name a
 * release step, so it can never approve the wrong one).
 */
export function readCommands(annotations: Readonly<Record<string, string>> | undefined): Commands {
  const out: { resume?: Commands['resume']; abort?: Commands['abort'] } = {};
  const resume = annotations?.[RESUME_ANNOTATION]?.trim().match(/^(\d+)\/(\d+)$/);
  if (resume) out.resume = { generation: Number(resume[1]), step: Number(resume[2]) };
  const abort = annotations?.[ABORT_ANNOTATION]?.trim().match(/^(\d+)$/);
  if (abort) out.abort = { generation: Number(abort[1]) };
  return out;
}
