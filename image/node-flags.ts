/**
 * The Node options the operator runs with: the image's entrypoint passes them, and the tests and
 * benchmarks that start the operator as a process pass the same, so they measure it as it ships.
 *
 * `--max-semi-space-size=1` (MB): V8's young generation grows its semi-spaces up to 16 MB each by
 * default and keeps them. The operator allocates a steady stream of short-lived objects (API
 * answers, parsed specs and statuses, Prometheus results) and keeps little, so the large
 * young generation was most of its resident memory: at 500 releases the same fleet measured
 * 253-282 MB RSS with the default and 167-185 MB with 1 MB semi-spaces, for 0-75 % more CPU
 * (more frequent scavenges; docs/benchmarks.md).
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
