// See jest-global-setup.js.
import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const mod = await tsImport('./global-teardown.ts', import.meta.url);
  await mod.default();
}
