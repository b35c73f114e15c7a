/**
 * Keeps the traffic simulator (a test stand-in for Envoy) on the live Istio configuration: lists
 * the VirtualServices and DestinationRules (networking.istio.io/v1), HTTPRoutes and GRPCRoutes
 * (gateway.networking.k8s.io/v1) of the watched namespaces from the real apiserver, again every
 * `refreshMs`, so that an operator's weight changes take effect the way istiod's push would make
 * them take effect in Envoy. The Gateway API routes are read by the mesh model (`buildModel`),
 * as `lint` and `explain` read them.
 */
import * as k8s from '@kubernetes/client-node';
import { buildModel } from '../../../mesh/model/load.js';
import type { KubeObject, MeshModel } from '../../../mesh/model/types.js';
import type { DestinationRule, MeshConfig, VirtualService } from './routing.js';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';
const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** Kinds whose resourceVersion a test can wait for. */
export type WatchedKind = 'VirtualService' | 'DestinationRule' | 'HTTPRoute' | 'GRPCRoute';

interface Listed {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly resourceVersion?: string };
}

export class LiveIstioConfig {
  private current: MeshConfig = { virtualServices: [], destinationRules: [] };
  private routes: readonly Listed[] = [];
  /** resourceVersions of the routes the current model was built from. */
  private routesKey = '';
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  /** The error of the last failed listing, cleared by the next success. */
  lastError: string | undefined;
  /** How many listings succeeded. */
  refreshes = 0;

  private readonly api: k8s.CustomObjectsApi;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly namespaces: readonly string[],
    private readonly refreshMs: number,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  get config(): MeshConfig {
    return this.current;
  }

  /** Lists once and then again every `refreshMs` until `stop()`. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.lastError) throw new Error(`the traffic simulator cannot read Istio config: ${this.lastError}`);
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.refresh().finally(tick), this.refreshMs);
    };
    tick();
  }

  /** Lists now (joins a listing already under way); never throws, sets `lastError` instead. */
  refresh(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.list().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  /** The resourceVersion of an object as last read, for tests that wait for a change to land. */
  resourceVersion(kind: WatchedKind, namespace: string, name: string): string | undefined {
    const list: readonly Listed[] =
      kind === 'VirtualService'
        ? this.current.virtualServices
        : kind === 'DestinationRule'
          ? this.current.destinationRules
          : this.routes.filter((r) => r.kind === kind);
    return list.find((o) => o.metadata.namespace === namespace && o.metadata.name === name)?.metadata
      .resourceVersion;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async list(): Promise<void> {
    try {
      const vs: VirtualService[] = [];
      const dr: DestinationRule[] = [];
      const routes: Listed[] = [];
      for (const namespace of this.namespaces) {
        const gatewayApi = (plural: string, kind: string) =>
          this.api
            .listNamespacedCustomObject({ group: GATEWAY_API_GROUP, version: 'v1', namespace, plural })
            .then((l) =>
              ((l as { items?: Listed[] }).items ?? []).map((o) => ({
                ...o,
                apiVersion: `${GATEWAY_API_GROUP}/v1`,
                kind,
              })),
            );
        const [v, d, h, g] = await Promise.all([
          this.api.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'virtualservices',
          }),
          this.api.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'destinationrules',
          }),
          gatewayApi('httproutes', 'HTTPRoute'),
          gatewayApi('grpcroutes', 'GRPCRoute'),
        ]);
        vs.push(...((v as { items: VirtualService[] }).items ?? []));
        dr.push(...((d as { items: DestinationRule[] }).items ?? []));
        routes.push(...h, ...g);
      }
      // the model is rebuilt only when a route changed
      const key = routes
        .map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}@${r.metadata.resourceVersion}`)
        .join();
      let gatewayApi: MeshModel | undefined = this.current.gatewayApi;
      if (key !== this.routesKey) {
        gatewayApi = routes.length
          ? buildModel(routes.map((object) => ({ object: object as unknown as KubeObject })))
          : undefined;
        this.routesKey = key;
      }
      this.routes = routes;
      this.current = {
        virtualServices: vs,
        destinationRules: dr,
        ...(gatewayApi ? { gatewayApi } : {}),
      };
      this.lastError = undefined;
      this.refreshes++;
    } catch (e) {
      const ex = e as { code?: number; body?: unknown; message?: string };
      this.lastError = ex.code
        ? `HTTP ${ex.code}: ${String(ex.body).slice(0, 300)}`
        : (ex.message ?? String(e));
    }
  }
}
