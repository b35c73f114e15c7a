/**
 * Keeps the traffic simulator (a test stand-in for Envoy) on the live Istio configuration: lists
 * the VirtualServices and DestinationRules (networking.istio.io/v1) of the watched namespaces
 * from the real apiserver, again every `refreshMs`, so that an operator's weight changes take
 * effect the way istiod's push would make them take effect in Envoy.
 */
import * as k8s from '@kubernetes/client-node';
import type { DestinationRule, MeshConfig, VirtualService } from './routing.js';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';

export class LiveIstioConfig {
  private current: MeshConfig = { virtualServices: [], destinationRules: [] };
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
  resourceVersion(
    kind: 'VirtualService' | 'DestinationRule',
    namespace: string,
    name: string,
  ): string | undefined {
    const list: readonly (VirtualService | DestinationRule)[] =
      kind === 'VirtualService' ? this.current.virtualServices : this.current.destinationRules;
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
      for (const namespace of this.namespaces) {
        const [v, d] = await Promise.all([
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
        ]);
        vs.push(...((v as { items: VirtualService[] }).items ?? []));
        dr.push(...((d as { items: DestinationRule[] }).items ?? []));
      }
      this.current = { virtualServices: vs, destinationRules: dr };
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
