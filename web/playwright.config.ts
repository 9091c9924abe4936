import { defineConfig } from '@playwright/test';

// Debian's chromium, never a downloaded browser; one worker, as the machine is small
// and every test shares the one server that global-setup starts.
export default defineConfig({
  testDir: './e2e',
  testMatch: /.*\.spec\.ts/,
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    launchOptions: { executablePath: process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium' },
    timezoneId: 'Asia/Tokyo',
    locale: 'en-GB',
    viewport: { width: 1400, height: 900 },
    trace: 'off',
    screenshot: 'off',
  },
});
