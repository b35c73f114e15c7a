/**
 * How the operator's Node process runs: the image's entrypoint passes these options and its
 * config sets this environment, and the tests and benchmarks that start the operator as a process
 * pass the same (with the allocator at the path where they keep it), so they measure it as it
 * ships.
 *
 * The operator allocates a steady stream of short-lived objects (API answers, parsed specs and
 * statuses, Prometheus results) and keeps little: at 500 releases about 30 MB of live heap. With
 * the defaults its RSS follows the garbage rather than what is live (`npm run bench -- scale`,
 * docs/benchmarks.md, "Memory at 500 releases"):
 * - `--max-semi-space-size=1` (MB): the young generation's semi-spaces stay at 1 MB instead of
 *   growing to 16 MB each and staying there.
 * - `--optimize-for-size`: V8 grows the old generation in smaller steps and collects it sooner; at
 *   500 releases the heap V8 holds went from 94-108 MB to 34-39 MB, for 10-25 % more CPU.
 * - jemalloc instead of glibc's malloc, with one arena, no per-thread caches and freed pages given
 *   back at once (`MALLOC_CONF`). What Node allocates outside V8's heap (buffers of responses,
 *   parsers, TLS, the compilers' zones) is freed in scattered blocks; glibc keeps the holes they
 *   leave in its arenas for good (at one release 14 of 20 MB of its main arena was free), where
 *   jemalloc returns the pages.
 * At 500 releases: 208-218 MB RSS with the first alone, 125-135 MB with the first two and glibc
 * (`MALLOC_ARENA_MAX=2`), 106-111 MB with all three, for up to 15 % more CPU than with glibc.
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];

/** jemalloc in the image: Debian's libjemalloc2 (pinned in image/contents.ts), at this path. */
export const JEMALLOC = { package: 'libjemalloc2', path: 'usr/lib/x86_64-linux-gnu/libjemalloc.so.2' };

/** Environment variables the operator's process runs with (the image's config sets them). */
export const OPERATOR_ENV: Readonly<Record<string, string>> = {
  LD_PRELOAD: `/${JEMALLOC.path}`,
  MALLOC_CONF: 'narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0',
};
