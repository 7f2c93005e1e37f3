// Removes the data directories the run's backends used (chosen in playwright.config.mjs).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

export default async function globalTeardown() {
  for (const name of ['E2E_DATA_DIR', 'E2E_MOTO_DATA_DIR', 'E2E_SIGNED_DIR']) {
    const dir = process.env[name];
    // Only what the config created (sliderule-e2e-… under the temporary directory), never a given path.
    if (dir && dir.startsWith(tmpdir()) && /sliderule-e2e-/.test(dir)) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
