/**
 * The CustomResourceDefinition of `CanaryRelease`, generated from the zod schema. `npm run
 * gen:crd` writes it to `crd.yaml`; a unit test fails when the committed file differs.
 */
import { stringify } from 'yaml';
import { toStructuralSchema, type JsonSchema } from '../crd-schema.js';
import {
  API_VERSION,
  CanaryReleaseSpec,
  CanaryReleaseStatus,
  GROUP,
  KIND,
  PLURAL,
  SHORT_NAMES,
  VERSION,
} from './canary-release.js';

/** The parts of an `apiextensions.k8s.io/v1` CustomResourceDefinition this project writes. */
export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames: readonly string[];
      readonly categories: readonly string[];
    };
    readonly scope: 'Namespaced';
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly subresources: { readonly status: Record<string, never> };
      readonly additionalPrinterColumns: readonly {
        readonly name: string;
        readonly type: string;
        readonly jsonPath: string;
        readonly description: string;
        readonly format?: string;
        readonly priority?: number;
      }[];
      readonly schema: { readonly openAPIV3Schema: JsonSchema };
    }[];
  };
}

/** The `CanaryRelease` CRD object. */
export function canaryReleaseCrd(): CustomResourceDefinition {
  const openAPIV3Schema: JsonSchema = {
    description: `${KIND} shifts the traffic of one VirtualService route from a stable to a canary subset step by step, gated by SLOs and fault tests, and promotes or rolls back by itself (${API_VERSION}).`,
    type: 'object',
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: { description: 'Kind is a string value representing the REST resource.', type: 'string' },
      metadata: { type: 'object' },
      spec: toStructuralSchema(CanaryReleaseSpec),
      status: toStructuralSchema(CanaryReleaseStatus),
    },
    required: ['spec'],
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'cdk8s-mesh' } },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: SHORT_NAMES,
        categories: ['cdk8s-mesh'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
            {
              name: 'Step',
              type: 'integer',
              jsonPath: '.status.currentStep',
              description: 'Index of the current step.',
            },
            {
              name: 'Steps',
              type: 'integer',
              jsonPath: '.status.totalSteps',
              description: 'Number of steps in the plan.',
              priority: 1,
            },
            {
              name: 'Weight',
              type: 'integer',
              jsonPath: '.status.canaryWeight',
              description: 'Canary weight in percent.',
            },
            {
              name: 'Success',
              type: 'number',
              jsonPath: '.status.successRate',
              description: 'Last measured canary success rate in percent.',
            },
            {
              name: 'Message',
              type: 'string',
              jsonPath: '.status.message',
              description: 'What the release is doing or waiting for.',
              priority: 1,
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age.' },
          ],
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

/** The CRD as the YAML committed in `api/v1alpha1/crd.yaml`. */
export function canaryReleaseCrdYaml(): string {
  return (
    '# Generated from api/v1alpha1/canary-release.ts by `npm run gen:crd`. Do not edit.\n' +
    stringify(canaryReleaseCrd(), { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true })
  );
}
