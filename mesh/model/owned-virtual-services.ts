/**
 * A CanaryRelease with a `virtualService.template` owns its VirtualService: the operator writes it
 * from the template, so synthesized manifests hold the template and no VirtualService. The model
 * reads the template as the VirtualService it becomes (with the template's weights, where a
 * release starts), so lint, explain, reachability and the graph of the manifests see the routing.
 * Where the VirtualService itself is among the objects too (a live cluster), that one is read: it
 * holds the weights as the release left them.
 */
import { GROUP } from '../../api/v1alpha1/canary-release.js';
import { isObj, obj, str, type Json } from './json.js';
import type { Origin } from './types.js';

interface Sourced {
  object: Json;
  origin?: Origin | undefined;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/** `objects` and, after them, the VirtualService of each CanaryRelease template whose VirtualService is not among them. */
export function withOwnedVirtualServices(objects: Sourced[], defaultNamespace: string): Sourced[] {
  const present = new Set<string>();
  const templates: Sourced[] = [];
  for (const s of objects) {
    const md = obj(s.object.metadata);
    const namespace = str(md.namespace) || defaultNamespace;
    if (s.object.kind === 'VirtualService') present.add(key(namespace, str(md.name) ?? ''));
    if (s.object.kind !== 'CanaryRelease' || !(str(s.object.apiVersion) ?? '').startsWith(`${GROUP}/`))
      continue;
    const vs = obj(obj(s.object.spec).virtualService);
    const template = vs.template;
    const name = str(vs.name);
    if (!isObj(template) || !isObj(template.spec) || !name) continue;
    const meta = obj(template.metadata);
    templates.push({
      object: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
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
  return [
    ...objects,
    ...templates.filter((t) => {
      const md = obj(t.object.metadata);
      return !present.has(key(str(md.namespace) ?? '', str(md.name) ?? ''));
    }),
  ];
}
