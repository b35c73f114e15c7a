/**
 * A CanaryRelease with a `template` on its `virtualService`, `httpRoute` or `grpcRoute` owns that
 * route object: the operator writes it from the template, so synthesized manifests hold the
 * template and no VirtualService, HTTPRoute or GRPCRoute. The model reads the template as the
 * object it becomes (with the template's weights, where a release starts), so lint, explain,
 * reachability and the graph of the manifests see the routing. Where the object itself is among
 * the objects too (a live cluster), that one is read: it holds the weights as the release left them.
 */
import { GROUP } from '../../api/v1alpha1/names.js';
import { isObj, obj, str, type Json } from './json.js';
import type { Origin } from './types.js';

interface Sourced {
  object: Json;
  origin?: Origin | undefined;
}

/** The spec field of a CanaryRelease that names each route kind, and the kind's apiVersion. */
const OWNED_KINDS = [
  { field: 'virtualService', kind: 'VirtualService', apiVersion: 'networking.istio.io/v1' },
  { field: 'httpRoute', kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
  { field: 'grpcRoute', kind: 'GRPCRoute', apiVersion: 'gateway.networking.k8s.io/v1' },
] as const;

const key = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/** `objects` and, after them, the route object of each CanaryRelease template whose object is not among them. */
export function withOwnedRoutes(objects: Sourced[], defaultNamespace: string): Sourced[] {
  const present = new Set<string>();
  const templates: Sourced[] = [];
  for (const s of objects) {
    const md = obj(s.object.metadata);
    const namespace = str(md.namespace) || defaultNamespace;
    present.add(key(str(s.object.kind) ?? '', namespace, str(md.name) ?? ''));
    if (s.object.kind !== 'CanaryRelease' || !(str(s.object.apiVersion) ?? '').startsWith(`${GROUP}/`))
      continue;
    const spec = obj(s.object.spec);
    for (const { field, kind, apiVersion } of OWNED_KINDS) {
      const ref = obj(spec[field]);
      const template = ref.template;
      const name = str(ref.name);
      if (!isObj(template) || !isObj(template.spec) || !name) continue;
      const meta = obj(template.metadata);
      templates.push({
        object: {
          apiVersion,
          kind,
          metadata: {
            name,
            namespace,
            ...(isObj(meta.labels) ? { labels: meta.labels } : {}),
            ...(isObj(meta.annotations) ? { annotations: meta.annotations } : {}),
          },
          spec: template.spec,
        },
        origin: s.origin,
      });
    }
  }
  return [
    ...objects,
    ...templates.filter((t) => {
      const md = obj(t.object.metadata);
      return !present.has(key(str(t.object.kind) ?? '', str(md.namespace) ?? '', str(md.name) ?? ''));
    }),
  ];
}
