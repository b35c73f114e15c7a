import * as kplus from 'cdk8s-plus-28';

/**
 * The container security context that Pod Security `restricted` admits: non-root, no privilege
 * escalation, every capability dropped, the runtime's default seccomp profile, and a read-only
 * root filesystem (writable paths are emptyDir volumes).
 */
export const RESTRICTED_CONTAINER: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};
