/**
 * How the operator's Node process runs: the image's entrypoint passes these options and its
 * config sets this environment, and the tests and benchmarks that start the operator as a process
 * pass the same, so they measure it as it ships.
 *
 * The operator allocates a steady stream of short-lived objects (API answers, parsed specs and
 * statuses, Prometheus results) and keeps little: at 500 releases about 30 MB of live heap. With
 * V8's defaults its RSS follows the garbage rather than what is live (`npm run bench -- scale`,
 * docs/benchmarks.md, "Memory at 500 releases: V8's old generation and malloc's arenas"):
 * - `--max-semi-space-size=1` (MB): the young generation's semi-spaces stay at 1 MB instead of
 *   growing to 16 MB each and staying there.
 * - `--optimize-for-size`: V8 grows the old generation in smaller steps and collects it sooner; at
 *   500 releases the heap V8 holds went from 94-108 MB to 34-39 MB, for 10-25 % more CPU.
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (V8's GC and compiler threads,
 *   libuv's pool) an arena of its own, up to 8 per CPU, and keeps what each frees; two arenas
 *   keep that memory small (the image's Node is built against glibc).
 * Together: 208-218 MB RSS at 500 releases with the first alone, 134 MB with all three.
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];

/** Environment variables the operator's process runs with (the image's config sets them). */
export const OPERATOR_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
