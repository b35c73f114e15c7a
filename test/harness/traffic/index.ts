/**
 * The traffic simulator: a test stand-in for Envoy, which cannot be installed on the machines
 * this project runs on. It is not a data plane. See `simulator.ts`.
 */
export {
  Backend,
  type BackendBehaviour,
  type BackendOptions,
  type UpstreamAnswer,
  type UpstreamCall,
} from './backend.js';
export { GRPC_STATUS, grpcStatusOfHttp, type RequestProtocol } from './grpc.js';
export { ISTIO_DURATION_BUCKETS_MS, ISTIO_LABELS, type IstioLabel } from './metrics.js';
export { type WatchedKind } from './config.js';
export {
  decideGatewayApiRoute,
  decideRoute,
  qualifyHost,
  type Destination,
  type MeshConfig,
  type RouteDecision,
  type RouteRef,
} from './routing.js';
export {
  MAX_LOAD_MS,
  MAX_RPS,
  TrafficSimulator,
  type LoadHandle,
  type LoadOptions,
  type LoadReport,
  type RequestOutcome,
  type SimulatedRequest,
  type SimulatedService,
  type SourceOptions,
  type TrafficSimulatorOptions,
} from './simulator.js';
