import { defineConfig } from '@playwright/test';

// The UI benchmark (scripts/bench-ui.sh): not part of the test suite.
export default defineConfig({
  testDir: './bench',
  testMatch: /.*\.bench\.ts/,
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  workers: 1,
  timeout: 30 * 60_000,
  reporter: [['list']],
  use: {
    launchOptions: { executablePath: process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium' },
    timezoneId: 'UTC',
    viewport: { width: 1600, height: 1000 },
  },
});
