/**
 * HTTP routing of an App: ordered routes with matches, weighted destinations across subsets,
 * fault injection, timeouts, retries and mirroring. Types use Istio's words; the render functions
 * turn them into VirtualService `http` entries.
 *
 * @see https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute
 */
import { Duration } from 'cdk8s';
import { z } from 'zod';
import { destinationWeights } from '../api/route-weights.js';
import type * as networking from '../imports/networking.istio.io.js';
import { dnsLabel, duration, percentage, portNumber } from './validation.js';

/** How a string is matched. Exactly one of `exact`, `prefix` or `regex` (RE2 syntax). */
export type StringMatch =
  { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

/** Conditions of one match block; all given conditions must hold (AND). */
export interface HttpMatch {
  /** Request headers by name (lower-case). @default - any headers */
  readonly headers?: Readonly<Record<string, StringMatch>>;
  /** The request path. @default - any path */
  readonly uri?: StringMatch;
  /** The HTTP method, e.g. `{ exact: 'GET' }`. @default - any method */
  readonly method?: StringMatch;
  /** Query parameters by name. @default - any query */
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
  /** The port the request was sent to. @default - any port */
  readonly port?: number;
}

/** One destination of a route: a subset (version) of the App. */
export interface RouteDestination {
  /** The subset, i.e. a version name of the App. @default - the whole Service, no subset */
  readonly subset?: string;
  /** Share of the traffic, an integer; the weights of a route must sum to 100. Omit for a single destination. */
  readonly weight?: number;
  /** Service port. @default - the App's only port */
  readonly port?: number;
}

/** Fault injection for the requests a route matches. */
export interface FaultInjection {
  /** Delay requests before forwarding them. @default - no delay */
  readonly delay?: {
    /** How long. */
    readonly fixedDelay: Duration;
    /** Percentage of requests delayed. @default 100 */
    readonly percentage?: number;
  };
  /** Answer requests with an error instead of forwarding them. @default - no abort */
  readonly abort?: {
    /** HTTP status returned, e.g. 500. */
    readonly httpStatus: number;
    /** Percentage of requests aborted. @default 100 */
    readonly percentage?: number;
  };
}

/** Retries of a route. @see https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry */
export interface RetryPolicy {
  /** Number of retries. */
  readonly attempts: number;
  /** Timeout per attempt. @default - the route timeout */
  readonly perTryTimeout?: Duration;
  /** Conditions that trigger a retry (Envoy's `retry_on`). @default - Istio's default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes */
  readonly retryOn?: string;
}

/** Traffic mirroring (shadowing): a copy of the requests goes to another subset, responses are discarded. */
export interface MirrorPolicy {
  /** The subset receiving the copies. */
  readonly subset: string;
  /** Percentage of requests mirrored. @default 100 */
  readonly percentage?: number;
}

/** One HTTP route of an App, in the order added; the first route whose match holds wins. */
export interface HttpRouteOptions {
  /** A name for the route (shown in Envoy stats and used by CanaryRelease to find it). @default - unnamed */
  readonly name?: string;
  /** Match blocks, OR-ed together. @default - match every request */
  readonly match?: readonly HttpMatch[];
  /** Where the requests go. */
  readonly to: readonly RouteDestination[];
  /** Fault injection. @default - none */
  readonly fault?: FaultInjection;
  /** Timeout for the whole request, retries included. @default - none (Istio's default: disabled) */
  readonly timeout?: Duration;
  /** Retries. @default - Istio's default (2 attempts) */
  readonly retries?: RetryPolicy;
  /** Mirror a share of the requests to another subset. @default - no mirroring */
  readonly mirror?: MirrorPolicy;
}

const stringMatch = z.union(
  [
    z.strictObject({ exact: z.string() }),
    z.strictObject({ prefix: z.string() }),
    z.strictObject({ regex: z.string().min(1) }),
  ],
  { error: 'expected exactly one of { exact }, { prefix } or { regex }' },
);

/** @internal */
export const httpMatchSchema = z.strictObject({
  headers: z
    .record(z.string().regex(/^[a-z0-9-_.:]+$/, 'header names are lower-case'), stringMatch)
    .optional(),
  uri: stringMatch.optional(),
  method: stringMatch.optional(),
  queryParams: z.record(z.string(), stringMatch).optional(),
  port: portNumber.optional(),
});

const destinationSchema = z.strictObject({
  subset: dnsLabel.optional(),
  weight: z.number().int('weights are integers').min(0).max(100).optional(),
  port: portNumber.optional(),
});

/** @internal */
export const httpRouteSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    match: z.array(httpMatchSchema).optional(),
    to: z.array(destinationSchema).min(1, 'a route needs at least one destination'),
    fault: z
      .strictObject({
        delay: z.strictObject({ fixedDelay: duration, percentage: percentage.optional() }).optional(),
        abort: z
          .strictObject({
            httpStatus: z
              .number()
              .int()
              .min(200, 'httpStatus must be a valid HTTP status (200-599)')
              .max(599),
            percentage: percentage.optional(),
          })
          .optional(),
      })
      .refine((f) => f.delay || f.abort, 'a fault needs a delay, an abort or both')
      .optional(),
    timeout: duration.optional(),
    retries: z
      .strictObject({
        attempts: z.number().int().min(0),
        perTryTimeout: duration.optional(),
        retryOn: z.string().optional(),
      })
      .optional(),
    mirror: z.strictObject({ subset: dnsLabel, percentage: percentage.optional() }).optional(),
  })
  .superRefine((r, ctx) => {
    // No destination is reported by `min(1)` above; a single one takes all the traffic, so a
    // weight on it other than 100 would be rendered but silently not applied by Istio.
    if (r.to.length === 0) return;
    const applied = destinationWeights(r.to);
    if (r.to.length === 1) {
      const weight = r.to[0]!.weight;
      if (weight !== undefined && weight !== applied[0]) {
        ctx.addIssue({
          code: 'custom',
          path: ['to', 0, 'weight'],
          message: `a single destination takes all the traffic: omit its weight or set ${applied[0]}`,
        });
      }
      return;
    }
    const missing = r.to.filter((d) => d.weight === undefined).length;
    if (missing > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `${r.to.length} destinations need a weight each (${missing} without one)`,
      });
      return;
    }
    const sum = applied.reduce((s, w) => s + w, 0);
    if (sum !== 100) {
      const parts = r.to.map((d) => `${d.subset ?? '(service)'}=${d.weight}`).join(', ');
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `route weights sum to ${sum} (${parts}); they must sum to 100`,
      });
    }
  });

/** Istio's duration syntax: whole seconds as `7s`, otherwise milliseconds. */
export function istioDuration(d: Duration): string {
  const ms = d.toMilliseconds();
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A route destination in VirtualService form. */
export type RenderedDestination = networking.VirtualServiceSpecHttpRoute;

/** One VirtualService `http` entry. */
export type RenderedHttpRoute = networking.VirtualServiceSpecHttp;

/** Renders a route for `host` as a VirtualService `http` entry. */
export function renderHttpRoute(host: string, r: HttpRouteOptions): RenderedHttpRoute {
  const { delay, abort } = r.fault ?? {};
  const retries = r.retries;
  return {
    ...(r.name ? { name: r.name } : {}),
    ...(r.match?.length ? { match: r.match.map(renderMatch) } : {}),
    ...(r.fault
      ? {
          fault: {
            ...(delay
              ? {
                  delay: {
                    percentage: { value: delay.percentage ?? 100 },
                    fixedDelay: istioDuration(delay.fixedDelay),
                  },
                }
              : {}),
            ...(abort
              ? { abort: { percentage: { value: abort.percentage ?? 100 }, httpStatus: abort.httpStatus } }
              : {}),
          },
        }
      : {}),
    route: r.to.map((d) => renderDestination(host, d)),
    ...(r.timeout ? { timeout: istioDuration(r.timeout) } : {}),
    ...(retries
      ? {
          retries: {
            attempts: retries.attempts,
            ...(retries.perTryTimeout ? { perTryTimeout: istioDuration(retries.perTryTimeout) } : {}),
            ...(retries.retryOn ? { retryOn: retries.retryOn } : {}),
          },
        }
      : {}),
    ...(r.mirror
      ? {
          mirror: { host, subset: r.mirror.subset },
          mirrorPercentage: { value: r.mirror.percentage ?? 100 },
        }
      : {}),
  };
}

export function renderDestination(host: string, d: RouteDestination): RenderedDestination {
  return {
    destination: {
      host,
      ...(d.subset ? { subset: d.subset } : {}),
      ...(d.port ? { port: { number: d.port } } : {}),
    },
    ...(d.weight !== undefined ? { weight: d.weight } : {}),
  };
}

export function renderMatch(m: HttpMatch): networking.VirtualServiceSpecHttpMatch {
  return {
    ...(m.uri ? { uri: m.uri } : {}),
    ...(m.method ? { method: m.method } : {}),
    ...(m.headers ? { headers: m.headers } : {}),
    ...(m.queryParams ? { queryParams: m.queryParams } : {}),
    ...(m.port ? { port: m.port } : {}),
  };
}
