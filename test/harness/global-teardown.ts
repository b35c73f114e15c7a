/** Stops the control plane started by the global setup: closing stdin tells it to stop. */
export default async function globalTeardown(): Promise<void> {
  const child = globalThis.__cdk8sMeshSupervisor;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const timer = setTimeout(() => {
    // Backstop: the supervisor leads its own process group; take the whole group down.
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 20_000);
  await exited;
  clearTimeout(timer);
}
