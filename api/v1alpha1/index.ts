/** `delivery.cdk8s-mesh.io/v1alpha1`: the CanaryRelease resource, its types and its CRD. */
export * from './canary-release.js';
export { canaryReleaseCrd, canaryReleaseCrdYaml, type CustomResourceDefinition } from './crd.js';
export * from './constants.js';
