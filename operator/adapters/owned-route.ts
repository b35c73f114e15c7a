/**
 * Writing a route object a release owns (a VirtualService, an HTTPRoute or a GRPCRoute) from the
 * CanaryRelease's `template`: created when missing, or the template written into it (the spec
 * merged with the release's own state by the kind's pure function, `ownedVirtualServiceSpec` or
 * `ownedGatewayRouteSpec`). The object records `<release>/<digest of the template>` in
 * {@link TEMPLATE_ANNOTATION}, so an unchanged template is never written again: a GitOps tool
 * re-applying the CanaryRelease causes no write, and nobody else's edit of the object is undone.
 */
import { createHash } from 'node:crypto';
import { canonical } from '../../api/canonical-json.js';
import { TEMPLATE_ANNOTATION } from '../../api/v1alpha1/canary-release.js';
import { pointerKey, resourceVersionPrecondition, type JsonPatchOp } from '../core/json-patch.js';
import { ok, type Result } from '../core/result.js';
import type { TemplateMetadata } from '../core/routes.js';
import type { KubeClient, KubeError, KubeObject, ResourceType } from './kubernetes.js';

/** A short digest of a template: equal templates, whatever their key order, give equal digests. */
export function templateDigest(template: unknown): string {
  return createHash('sha256').update(canonical(template)).digest('hex').slice(0, 16);
}

/** The owned object to bring to its template. */
export interface OwnedObject<S> {
  readonly type: ResourceType;
  /** `VirtualService`, `HTTPRoute` or `GRPCRoute`. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Name of the CanaryRelease that owns it. */
  readonly release: string;
  readonly template: { readonly spec: S; readonly metadata?: TemplateMetadata };
  /** The spec to write: the template's, with the release's state carried over from `live`. */
  readonly merge: (live: (KubeObject & { spec?: S }) | undefined) => S;
}

/**
 * Creates the object a release owns, or writes its changed template into it (a JSON Patch
 * conditional on the resourceVersion of `live`: `Conflict` if it changed since it was read).
 * Returns the object as it now is; `live` itself when its template is already written.
 */
export async function syncOwnedObject<S, O extends KubeObject & { spec?: S }>(
  client: KubeClient,
  o: OwnedObject<S>,
  live: O | undefined,
): Promise<Result<O | undefined, KubeError>> {
  const mark = `${o.release}/${templateDigest(o.template)}`;
  if (live?.metadata.annotations?.[TEMPLATE_ANNOTATION] === mark) return ok(live);
  const spec = o.merge(live);
  const labels = o.template.metadata?.labels ?? {};
  const annotations = { ...o.template.metadata?.annotations, [TEMPLATE_ANNOTATION]: mark };
  if (!live) {
    return client.create<O>(o.type, o.namespace, {
      apiVersion: `${o.type.group}/${o.type.version}`,
      kind: o.kind,
      metadata: { name: o.name, namespace: o.namespace, labels, annotations },
      spec,
    } as unknown as O);
  }
  const ops: JsonPatchOp[] = [resourceVersionPrecondition(live.metadata.resourceVersion ?? '')];
  const meta = live.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  for (const [field, wanted] of [
    ['labels', labels],
    ['annotations', annotations],
  ] as const) {
    if (Object.keys(wanted).length === 0) continue;
    if (!meta[field]) ops.push({ op: 'add', path: `/metadata/${field}`, value: wanted });
    else
      for (const [k, v] of Object.entries(wanted))
        ops.push({ op: 'add', path: `/metadata/${field}/${pointerKey(k)}`, value: v });
  }
  ops.push({ op: 'add', path: '/spec', value: spec });
  return client.jsonPatch<O>(o.type, { namespace: o.namespace, name: o.name }, ops);
}
