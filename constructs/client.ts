import type * as kplus from 'cdk8s-plus-28';
import type { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { z } from 'zod';
import { recordCall, type CallOptions } from './calls.js';
import type { IMeshPeer, IWorkload } from './peer.js';
import { checkProps, childPath } from './validation.js';
import {
  checkWorkloadPod,
  MeshWorkload,
  renderDeployment,
  workloadIdentityFields,
  workloadPodFields,
  type WorkloadPodProps,
} from './workload.js';

export interface ClientProps extends WorkloadPodProps {
  /** Name of the workload (its Deployment and `app` label). @default - the construct id */
  readonly name?: string;
  /** Namespace. @default - the mesh's */
  readonly namespace?: string;
  /** The image (required: a Client has one version). */
  readonly image: string;
}

const clientSchema = z
  .strictObject({
    ...workloadPodFields,
    ...workloadIdentityFields,
    image: z.string().min(1),
  })
  .superRefine((p, ctx) => {
    checkWorkloadPod(p, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    if (p.readiness)
      ctx.addIssue({
        code: 'custom',
        path: ['readiness'],
        message:
          'a Client serves nothing, so no readiness probe gates traffic to it; use liveness or startup',
      });
  });

/**
 * A workload that only calls others: no Service and no port (a load generator, a job runner). It
 * has a ServiceAccount, so an identity (`principal`) the callees' policies name, and pods labelled
 * `app: <name>`. Emits a ServiceAccount and a Deployment (Pod Security `restricted`), and a
 * HorizontalPodAutoscaler with `autoscaling`.
 */
export class Client extends MeshWorkload {
  /** A Client has no versions to route between: its pods are labelled `app` only. */
  readonly versions: readonly string[] = [];
  readonly deployedVersions: readonly string[] = [];
  readonly deployment: kplus.Deployment;
  readonly autoscaler: k8s.KubeHorizontalPodAutoscalerV2 | undefined;

  constructor(scope: Construct, id: string, props: ClientProps) {
    const p = checkProps(childPath(scope, id), clientSchema, { ...props, name: props.name ?? id });
    super(scope, id, p);
    const { deployment, autoscaler } = renderDeployment(this, 'Resource', p, {
      name: this.name,
      namespace: this.namespace,
      labels: { app: this.name },
      image: p.image,
      replicas: p.replicas,
      containerName: p.containerName ?? this.name,
      serviceAccount: this.serviceAccount,
      ports: [],
      defaultReadiness: undefined,
      dataPlane: this.mesh.dataPlane,
    });
    this.deployment = deployment;
    this.autoscaler = autoscaler;
  }

  /**
   * Declares that this Client calls `other`, as {@link App.calls} does: the callee's
   * ZeroTrustPolicy allows this Client's principal with the options given.
   */
  calls(other: IMeshPeer & IWorkload, options: CallOptions = {}): void {
    recordCall(this, other, options);
  }
}
