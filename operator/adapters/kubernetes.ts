/**
 * Kubernetes reads and writes of the operator, behind a narrow interface.
 *
 * Every object is handled as plain JSON through the apiserver's generic REST paths
 * (`/apis/<group>/<version>/namespaces/<ns>/<plural>`), so no typed model of client-node stands
 * between what the server sends and what the operator compares (client-node's models turn
 * MicroTime fields into `Date`s and back in a format the apiserver refuses).
 *
 * Writes are JSON Patches that carry the resourceVersion that was read
 * (`replace /metadata/resourceVersion`): the apiserver refuses one made against a changed object
 * with 409 Conflict, and the caller re-observes and decides again. Nothing here overwrites blindly.
 * Expected failures come back as result values; an exception means a bug.
 */
import * as k8s from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  type CanaryReleaseStatus,
} from '../../api/v1alpha1/canary-release.js';
import { Reason } from '../../api/v1alpha1/constants.js';
import type { Readiness } from '../core/types.js';
import { resourceVersionPrecondition, type JsonPatchOp } from '../core/json-patch.js';
import { err, ok, type Result } from '../core/result.js';
import { sameStatus } from '../core/status.js';
import { redactText } from '../../api/redact.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, showMs } from '../../api/operator-timings.js';
import { pooledApiClient } from './kubeconfig.js';

/** Why a Kubernetes call failed. */
export type KubeErrorKind =
  /** 404: the object (or its kind) does not exist. */
  | 'NotFound'
  /** 409, or a failed JSON Patch `test`: the object changed since it was read. Re-observe. */
  | 'Conflict'
  /** 422/400: the server refused the content. */
  | 'Invalid'
  /** 401/403: the operator lacks a permission (RBAC). */
  | 'Forbidden'
  /** The server could not be reached, timed out, or answered 5xx/429. Retry later. */
  | 'Unavailable';

export interface KubeError {
  readonly kind: KubeErrorKind;
  /** HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** What happened, naming the object. */
  readonly message: string;
}

/** A namespaced resource type on the generic REST paths. */
export interface ResourceType {
  /** API group; `''` is the core group (only readable with `get` here, not listable). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export const CANARY_RELEASES: ResourceType = { group: GROUP, version: VERSION, plural: PLURAL };
export const VIRTUAL_SERVICES: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
};
export const DESTINATION_RULES: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
};
export const HTTP_ROUTES: ResourceType = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
};
export const GRPC_ROUTES: ResourceType = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'grpcroutes',
};
export const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', plural: 'deployments' };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
export const EVENTS: ResourceType = { group: 'events.k8s.io', version: 'v1', plural: 'events' };

/** The metadata fields the operator reads. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
}

/** Any object as JSON. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/** A CanaryRelease as read: the spec is left unparsed (`decide` validates it). */
export interface CanaryReleaseObject extends KubeObject {
  readonly spec?: unknown;
  readonly status?: unknown;
}

/** Identifies a namespaced object. */
export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

/** The `Status` body of an apiserver error, when there is one. */
function statusBody(body: unknown): { message?: string; details?: { name?: string; causes?: unknown[] } } {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { message?: string };
    } catch {
      return { message: body };
    }
  }
  return body && typeof body === 'object' ? (body as { message?: string }) : {};
}

/**
 * Turns a client-node failure into a {@link KubeError}. With `jsonPatch`, a 422 without field
 * causes is how the apiserver reports a patch that does not apply to the object as it is now (a
 * failed `test`, a path that is gone): the object changed since it was read, so it is a Conflict.
 */
export function kubeError(
  e: unknown,
  what: string,
  opts: { jsonPatch?: boolean; timeoutMs?: number } = {},
): KubeError {
  if (e instanceof k8s.ApiException) {
    const code = e.code;
    const status = statusBody(e.body);
    const detail = String(status.message ?? '').slice(0, 500);
    const patchMismatch =
      opts.jsonPatch === true &&
      code === 422 &&
      !status.details?.name &&
      !(status.details?.causes ?? []).length;
    const kind: KubeErrorKind =
      code === 404
        ? 'NotFound'
        : code === 409 || patchMismatch
          ? 'Conflict'
          : code === 401 || code === 403
            ? 'Forbidden'
            : code === 400 || code === 422
              ? 'Invalid'
              : 'Unavailable';
    const why = patchMismatch ? 'the object is no longer as it was read (a JSON Patch test failed)' : detail;
    return { kind, status: code, message: redactText(`${what}: HTTP ${code}${why ? `: ${why}` : ''}`) };
  }
  if ((e as Error)?.name === 'TimeoutError' && opts.timeoutMs !== undefined) {
    return {
      kind: 'Unavailable',
      status: 0,
      message: `${what}: no answer from the apiserver within the request timeout (${showMs(opts.timeoutMs)}); the request was abandoned and will be retried`,
    };
  }
  const cause = (e as { cause?: { code?: string } })?.cause?.code;
  const message = (e as Error)?.message ?? String(e);
  return {
    kind: 'Unavailable',
    status: 0,
    message: redactText(`${what}: ${cause ?? message}`.slice(0, 600)),
  };
}

/** The client-node options that make a patch go out as JSON Patch. */
const JSON_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * Per-call client-node options that abandon the request after `timeoutMs`, from sending it to the
 * last byte of the answer (fetch's abort signal covers the body too), added to `base`'s. A
 * connection the apiserver accepted and never answers then fails like an unreachable apiserver
 * instead of holding its caller forever. Watches are bounded elsewhere (`runtime/informers.ts`).
 */
export function requestTimeoutOptions(
  timeoutMs: number,
  base?: k8s.ConfigurationOptions<k8s.ObservableMiddleware>,
): k8s.ConfigurationOptions<k8s.ObservableMiddleware> {
  const abandonAfter: k8s.ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(request));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  return {
    ...base,
    middleware: [...(base?.middleware ?? []), abandonAfter],
    middlewareMergeStrategy: 'append', // keep the client's own (its User-Agent)
  };
}

export interface KubeClientOptions {
  /**
   * Time allowed for one request, answer included.
   * @default DEFAULT_REQUEST_TIMEOUT_MS (30 s)
   */
  readonly requestTimeoutMs?: number;
}

/**
 * Plain-JSON access to namespaced objects through client-node's generic custom-objects client,
 * which works for every group's REST paths (apps, coordination.k8s.io, events.k8s.io, CRDs).
 */
export class KubeClient {
  private readonly api: k8s.CustomObjectsApi;
  /** Time allowed for one request, answer included. */
  readonly requestTimeoutMs: number;
  private readonly plain: k8s.ConfigurationOptions<k8s.ObservableMiddleware>;
  private readonly jsonPatchOptions: k8s.ConfigurationOptions<k8s.ObservableMiddleware>;
  private readonly mergePatchOptions: k8s.ConfigurationOptions<k8s.ObservableMiddleware>;

  constructor(
    readonly kubeConfig: k8s.KubeConfig,
    opts: KubeClientOptions = {},
  ) {
    this.api = pooledApiClient(kubeConfig, k8s.CustomObjectsApi);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.plain = requestTimeoutOptions(this.requestTimeoutMs);
    this.jsonPatchOptions = requestTimeoutOptions(this.requestTimeoutMs, JSON_PATCH);
    this.mergePatchOptions = requestTimeoutOptions(this.requestTimeoutMs, MERGE_PATCH);
  }

  /** Runs one API call; a failure becomes a {@link KubeError} that names `what`. */
  private async call<T>(
    what: string,
    request: () => Promise<unknown>,
    opts?: { readonly jsonPatch?: boolean },
  ): Promise<Result<T, KubeError>> {
    try {
      return ok((await request()) as T);
    } catch (e) {
      return err(kubeError(e, what, { ...opts, timeoutMs: this.requestTimeoutMs }));
    }
  }

  get<T extends KubeObject = KubeObject>(type: ResourceType, ref: ObjectRef): Promise<Result<T, KubeError>> {
    return this.call(`get ${type.plural} ${ref.namespace}/${ref.name}`, () =>
      this.api.getNamespacedCustomObject({ ...type, ...ref }, this.plain),
    );
  }

  async list<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace?: string,
  ): Promise<Result<{ items: T[]; metadata?: { resourceVersion?: string } }, KubeError>> {
    const res = await this.call<{ items?: T[]; metadata?: { resourceVersion?: string } }>(
      `list ${type.plural}${namespace ? ` in ${namespace}` : ''}`,
      () =>
        namespace
          ? this.api.listNamespacedCustomObject({ ...type, namespace }, this.plain)
          : this.api.listClusterCustomObject(type, this.plain),
    );
    return res.ok ? ok({ items: res.value.items ?? [], metadata: res.value.metadata }) : res;
  }

  /**
   * Whether the apiserver serves `type` (its CRD is installed): asked of discovery, which every
   * authenticated client may read. A group/version it does not serve at all is `false`.
   */
  async serves(type: ResourceType): Promise<Result<boolean, KubeError>> {
    const res = await this.call<{ resources?: { name: string }[] }>(
      `discover ${type.group}/${type.version}`,
      () => this.api.getAPIResources({ group: type.group, version: type.version }, this.plain),
    );
    if (res.ok) return ok((res.value.resources ?? []).some((r) => r.name === type.plural));
    return res.error.kind === 'NotFound' ? ok(false) : res;
  }

  create<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace: string,
    body: unknown,
  ): Promise<Result<T, KubeError>> {
    return this.call(`create ${type.plural} in ${namespace}`, () =>
      this.api.createNamespacedCustomObject({ ...type, namespace, body }, this.plain),
    );
  }

  /** Replaces an object; `body.metadata.resourceVersion` is the precondition. */
  replace<T extends KubeObject = KubeObject>(
    type: ResourceType,
    ref: ObjectRef,
    body: unknown,
  ): Promise<Result<T, KubeError>> {
    return this.call(`replace ${type.plural} ${ref.namespace}/${ref.name}`, () =>
      this.api.replaceNamespacedCustomObject({ ...type, ...ref, body }, this.plain),
    );
  }

  /** Applies a JSON Patch to the object, or to its status subresource. */
  jsonPatch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    ref: ObjectRef,
    ops: readonly JsonPatchOp[],
    opts: { readonly subresource?: 'status' | 'scale'; readonly fieldManager?: string } = {},
  ): Promise<Result<T, KubeError>> {
    const req = { ...type, ...ref, body: ops, fieldManager: opts.fieldManager };
    return this.call(
      `patch ${type.plural}${opts.subresource ? `/${opts.subresource}` : ''} ${ref.namespace}/${ref.name}`,
      () =>
        opts.subresource === 'status'
          ? this.api.patchNamespacedCustomObjectStatus(req, this.jsonPatchOptions)
          : opts.subresource === 'scale'
            ? this.api.patchNamespacedCustomObjectScale(req, this.jsonPatchOptions)
            : this.api.patchNamespacedCustomObject(req, this.jsonPatchOptions),
      { jsonPatch: true },
    );
  }

  /** Applies a JSON merge patch (used for annotations by tests and tools). */
  mergePatch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    ref: ObjectRef,
    patch: unknown,
  ): Promise<Result<T, KubeError>> {
    return this.call(`merge-patch ${type.plural} ${ref.namespace}/${ref.name}`, () =>
      this.api.patchNamespacedCustomObject({ ...type, ...ref, body: patch }, this.mergePatchOptions),
    );
  }
}

/** Outcome of {@link KubernetesAdapter.writeStatus}. */
export type StatusWrite =
  /** The status was equal to the one read: nothing was sent. */
  { readonly written: false } | { readonly written: true; readonly resourceVersion: string };

/** The reference an Event points at. */
export interface EventSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export interface KubernetesAdapterOptions {
  /** `reportingController` of Events. @default 'delivery.cdk8s-mesh.io/canary-operator' */
  readonly controller?: string;
  /** `reportingInstance` of Events (the pod name). @default - the host name */
  readonly instance?: string;
  /** Field manager of writes. @default 'cdk8s-mesh-operator' */
  readonly fieldManager?: string;
  /** Time allowed for one request, answer included. @default DEFAULT_REQUEST_TIMEOUT_MS (30 s) */
  readonly requestTimeoutMs?: number;
}

/** Event reasons whose Event `action` is `Progress`; every other reason's is `Reconcile`. */
const PROGRESS_REASONS: ReadonlySet<string> = new Set([Reason.Promoted, Reason.StepAdvanced, Reason.Started]);

/** What the reconciler needs from Kubernetes, apart from the traffic router. */
export class KubernetesAdapter {
  readonly client: KubeClient;
  readonly controller: string;
  readonly instance: string;
  readonly fieldManager: string;

  constructor(kubeConfig: k8s.KubeConfig, opts: KubernetesAdapterOptions = {}) {
    this.client = new KubeClient(kubeConfig, { requestTimeoutMs: opts.requestTimeoutMs });
    this.controller = opts.controller ?? `${GROUP}/canary-operator`;
    this.instance = (opts.instance ?? process.env.HOSTNAME ?? 'operator').slice(0, 128);
    this.fieldManager = opts.fieldManager ?? 'cdk8s-mesh-operator';
  }

  /**
   * Reads a CanaryRelease from the apiserver (the runtime's `CachedStore` reads the informer's
   * cache instead when it holds at least the version this process last wrote or read).
   */
  getRelease(ref: ObjectRef): Promise<Result<CanaryReleaseObject, KubeError>> {
    return this.client.get<CanaryReleaseObject>(CANARY_RELEASES, ref);
  }

  /**
   * Writes the whole status in one patch through the /status subresource, conditional on the
   * resourceVersion read; sends nothing when `next` equals `previous`.
   */
  async writeStatus(
    ref: ObjectRef,
    resourceVersion: string,
    previous: unknown,
    next: CanaryReleaseStatus,
  ): Promise<Result<StatusWrite, KubeError>> {
    if (sameStatus(previous, next)) return ok({ written: false });
    const res = await this.client.jsonPatch(
      CANARY_RELEASES,
      ref,
      [resourceVersionPrecondition(resourceVersion), { op: 'add', path: '/status', value: next }],
      { subresource: 'status', fieldManager: this.fieldManager },
    );
    if (!res.ok) return res;
    return ok({ written: true, resourceVersion: res.value.metadata.resourceVersion ?? '' });
  }

  /**
   * Records an Event (events.k8s.io/v1; `kubectl describe` and `kubectl get events` show it) about
   * `subject`. `reason` is CamelCase; `note` is cut to the API's 1 kB.
   */
  async emitEvent(
    subject: EventSubject,
    type: 'Normal' | 'Warning',
    reason: string,
    note: string,
    now: Date = new Date(),
  ): Promise<Result<void, KubeError>> {
    const micro = now.toISOString().replace(/Z$/, '000Z');
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: {
        // client-go's naming: <object>.<hex nanoseconds>; the random part keeps same-ms events apart
        name: `${subject.name.slice(0, 200)}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`,
        namespace: subject.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cdk8s-mesh-operator' },
      },
      eventTime: micro,
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: PROGRESS_REASONS.has(reason) ? 'Progress' : 'Reconcile',
      reason: reason.slice(0, 128),
      type,
      note: note.slice(0, 1024),
      regarding: {
        apiVersion: subject.apiVersion,
        kind: subject.kind,
        namespace: subject.namespace,
        name: subject.name,
        ...(subject.uid ? { uid: subject.uid } : {}),
        ...(subject.resourceVersion ? { resourceVersion: subject.resourceVersion } : {}),
      },
    };
    const res = await this.client.create(EVENTS, subject.namespace, body);
    return res.ok ? ok(undefined) : res;
  }

  /**
   * Sets the replicas of a Deployment through its scale subresource (the only write the operator
   * makes to a Deployment, so its RBAC grants `deployments/scale` and not `deployments`).
   */
  async scaleDeployment(ref: ObjectRef, replicas: number): Promise<Result<void, KubeError>> {
    const res = await this.client.jsonPatch(
      DEPLOYMENTS,
      ref,
      [{ op: 'replace', path: '/spec/replicas', value: replicas }],
      { subresource: 'scale', fieldManager: this.fieldManager },
    );
    return res.ok ? ok(undefined) : res;
  }

  /** Readiness of a Deployment: rolled out (observed, updated) and all desired replicas available. */
  async readiness(ref: ObjectRef): Promise<Result<Readiness, KubeError>> {
    const res = await this.client.get(DEPLOYMENTS, ref);
    if (!res.ok) return res.error.kind === 'NotFound' ? ok(readinessOf(ref, undefined)) : res;
    return ok(deploymentReadiness(res.value));
  }
}

/** The subject of Events about a CanaryRelease. */
export function releaseSubject(obj: CanaryReleaseObject): EventSubject {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
  };
}

/** Readiness of the Deployment `ref`, read as `d` (undefined: it does not exist). */
export function readinessOf(ref: ObjectRef, d: KubeObject | undefined): Readiness {
  return d
    ? deploymentReadiness(d)
    : { ready: false, message: `Deployment ${ref.namespace}/${ref.name} does not exist` };
}

/** The last-applied annotation `kubectl apply` writes: a second copy of the whole object. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * An object as an informer's cache keeps it: without `managedFields` and the last-applied
 * annotation, which the operator never reads and which are most of a small object's size.
 */
export function withoutBookkeeping(o: KubeObject): KubeObject {
  const {
    managedFields: _m,
    annotations,
    ...metadata
  } = o.metadata as ObjectMeta & {
    managedFields?: unknown;
  };
  const kept = annotations && LAST_APPLIED in annotations ? { ...annotations } : annotations;
  if (kept && kept !== annotations) delete (kept as Record<string, string>)[LAST_APPLIED];
  return { ...o, metadata: { ...metadata, ...(kept ? { annotations: kept } : {}) } };
}

/**
 * A Deployment as the operator's cache keeps it: what {@link deploymentReadiness} reads and
 * nothing else (not the pod template, conditions or managedFields).
 */
export function deploymentSummary(d: KubeObject): KubeObject {
  const spec = (d.spec ?? {}) as { replicas?: number; paused?: boolean };
  const st = (d.status ?? {}) as Record<string, unknown>;
  const m = d.metadata;
  return {
    apiVersion: d.apiVersion,
    kind: d.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      ...(m.uid !== undefined ? { uid: m.uid } : {}),
      ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
    },
    spec: {
      ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
      ...(spec.paused !== undefined ? { paused: spec.paused } : {}),
    },
    status: Object.fromEntries(
      ['observedGeneration', 'replicas', 'updatedReplicas', 'availableReplicas']
        .filter((k) => st[k] !== undefined)
        .map((k) => [k, st[k]]),
    ),
  };
}

/** Readiness of a Deployment object as `kubectl rollout status` judges it. */
export function deploymentReadiness(d: KubeObject): Readiness {
  const spec = (d.spec ?? {}) as { replicas?: number; paused?: boolean };
  const st = (d.status ?? {}) as {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
  const desired = spec.replicas ?? 1;
  const available = st.availableReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const msg = `${available}/${desired} available, ${updated}/${desired} updated`;
  if (desired === 0) {
    return { ready: false, message: 'it has 0 replicas: scale it up to release it', replicas: 0 };
  }
  if ((st.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
    return {
      ready: false,
      message: `the Deployment's new generation is not observed yet (${msg})`,
      replicas: desired,
    };
  }
  if (updated < desired || available < desired || (st.replicas ?? 0) > updated) {
    return { ready: false, message: msg, replicas: desired };
  }
  return { ready: true, message: msg, replicas: desired };
}
