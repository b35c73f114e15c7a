/**
 * kwok's fake nodes: the Node object kwok manages (the `kwok.x-k8s.io/node: fake` annotation
 * selects it), and `ensurePodCapacity`, which adds nodes until the cluster can hold a number of
 * pods more than it runs now, so tests and benchmarks that start many Deployments are not capped by
 * the three nodes the control plane starts with.
 *
 * Nodes are named `kwok-node-<i>` with consecutive indices: two callers that add capacity at the
 * same time create the same names, and the second one's 409 just means the node is there.
 */
import * as k8s from '@kubernetes/client-node';
import { HarnessError } from './processes.js';

/** Pods one fake node holds (the kubelet's default `maxPods`). */
export const PODS_PER_FAKE_NODE = 110;

/** The nodes the control plane starts with. */
export const INITIAL_FAKE_NODES = 3;

export const fakeNodeName = (i: number) => `kwok-node-${i}`;

/** A Node object kwok manages, with room for {@link PODS_PER_FAKE_NODE} pods. */
export function fakeNode(name: string): k8s.V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_FAKE_NODE) },
      capacity: { cpu: '32', memory: '256Gi', pods: String(PODS_PER_FAKE_NODE) },
    },
  };
}

const isReady = (n: k8s.V1Node) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const isFake = (n: k8s.V1Node) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake';

export interface PodCapacity {
  /** Fake nodes Ready now. */
  readonly nodes: number;
  /** Pods that are neither Succeeded nor Failed (they hold a node's pod slot). */
  readonly pods: number;
  /** Nodes this call created. */
  readonly added: readonly string[];
}

/**
 * Adds fake nodes until the Ready fake nodes hold the cluster's running pods plus `extraPods`, and
 * waits (at most `timeoutMs`) until kwok has made the new ones Ready.
 */
export async function ensurePodCapacity(
  kubeConfig: k8s.KubeConfig,
  extraPods: number,
  opts: { readonly timeoutMs?: number } = {},
): Promise<PodCapacity> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const pods = await core.listPodForAllNamespaces({
    fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
  });
  const running = pods.items.length;
  const needed = Math.max(INITIAL_FAKE_NODES, Math.ceil((running + extraPods) / PODS_PER_FAKE_NODE));
  const existing = new Set((await core.listNode()).items.filter(isFake).map((n) => n.metadata?.name ?? ''));
  const added: string[] = [];
  for (let i = 0; i < needed; i++) {
    const name = fakeNodeName(i);
    if (existing.has(name)) continue;
    try {
      await core.createNode({ body: fakeNode(name) });
      added.push(name);
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < Math.ceil(timeoutMs / 250) + 1; attempt++) {
    const ready = (await core.listNode()).items.filter((n) => isFake(n) && isReady(n)).length;
    if (ready >= needed) return { nodes: ready, pods: running, added };
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new HarnessError(
    'kwok',
    `${needed} fake nodes wanted for ${running} + ${extraPods} pods, but they were not all Ready after ${timeoutMs} ms`,
    'read the kwok log in the control plane work dir',
  );
}
