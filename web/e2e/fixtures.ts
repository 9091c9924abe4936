// The test fixture: the server's URL as baseURL, a clock-independent login helper and
// a check that fails the test on any console error or uncaught exception (a test
// that provokes an HTTP error declares the status and path it expects).
import { test as base, expect, type Page, type ConsoleMessage } from '@playwright/test';
import { ADMIN } from './server';

interface Expected {
  status: number;
  path: RegExp;
}

interface Fixtures {
  expectHttpError: (status: number, path: RegExp) => void;
  loggedIn: Page;
}

// Always expected: the session probe before logging in, and the batch-query probe on
// a server without that endpoint (the client then falls back to single queries).
const ALWAYS: Expected[] = [
  { status: 401, path: /\/api\/v1\/auth\/me$/ },
  { status: 404, path: /\/api\/v1\/query\/batch$/ },
];

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    await use(process.env.VIGIL_E2E_URL);
  },
  expectHttpError: [
    async ({ page }, use) => {
      const expected: Expected[] = [...ALWAYS];
      const problems: string[] = [];
      const allowed = (msg: ConsoleMessage) => {
        const m = /status of (\d{3})/.exec(msg.text());
        if (!m) return false;
        const path = new URL(msg.location().url || 'http://x/').pathname;
        return expected.some((e) => e.status === Number(m[1]) && e.path.test(path));
      };
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !allowed(msg)) problems.push(`console error: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
      await use((status, path) => expected.push({ status, path }));
      expect(problems, 'the page logged errors').toEqual([]);
    },
    { auto: true },
  ],
  loggedIn: async ({ page }, use) => {
    await login(page, ADMIN.email, ADMIN.password);
    await use(page);
  },
});

export async function login(page: Page, email: string, password: string, path = '/dashboards') {
  await page.goto(`/login?redirect=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

export { expect };
