import { test, expect } from './fixtures';
import { Api } from './server';

test('admin: create a user and change the role; the role holds on the server', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByLabel('New user email').fill('new.editor@e2e.test');
  await page.getByLabel('New user password').fill('a-long-password');
  await page.getByLabel('New user role').selectOption('viewer');
  await page.getByRole('button', { name: 'Create user' }).click();
  const role = page.getByLabel('Role of new.editor@e2e.test');
  await expect(role).toHaveValue('viewer');
  await role.selectOption('editor');
  await expect.poll(async () => (await api.call<{ data: { email: string; role: string }[] }>('GET', '/api/v1/users')).data.find((u) => u.email === 'new.editor@e2e.test')?.role).toBe('editor');
  await page.reload();
  await expect(page.getByLabel('Role of new.editor@e2e.test')).toHaveValue('editor');
  // The new user can log in with the password set in the form.
  const asNew = await Api.login(process.env.VIGIL_E2E_URL!, { email: 'new.editor@e2e.test', password: 'a-long-password' });
  expect((await asNew.call<{ data: { role: string } }>('GET', '/api/v1/auth/me')).data.role).toBe('editor');
});

test('admin: a token’s secret is shown once and works as a bearer token', async ({ loggedIn: page }) => {
  await page.goto('/admin/tokens');
  await page.getByLabel('Token name').fill('ci-reader');
  await page.getByLabel('Token kind').selectOption('personal');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('secret').textContent())!;
  expect(secret.length).toBeGreaterThan(20);
  const row = page.getByRole('table', { name: 'Tokens' }).getByRole('row').filter({ hasText: 'ci-reader' });
  await expect(row).toBeVisible();
  // The listing shows only a prefix, never the secret.
  await expect(page.getByRole('table', { name: 'Tokens' })).not.toContainText(secret);
  const r = await fetch(`${process.env.VIGIL_E2E_URL}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(r.status).toBe(200);
  // Shown once: after leaving and coming back it is gone.
  await page.reload();
  await expect(row).toBeVisible();
  await expect(page.getByTestId('secret')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(secret);
});

test('admin: the health page lists every dependency the server reports', async ({ loggedIn: page }) => {
  const report = (await (await fetch(`${process.env.VIGIL_E2E_URL}/health`)).json()) as { status: string; checks: Record<string, unknown> };
  await page.goto('/admin/health');
  const table = page.getByRole('table', { name: 'Dependencies' });
  const names = Object.keys(report.checks);
  expect(names.sort()).toEqual(['postgres', 'rabbitmq', 'redis']);
  await expect(table.locator('tr > td:first-child')).toHaveText(Object.keys(report.checks));
  // The shared services run for the suite: each dependency reads as up.
  for (const name of names) await expect(table.getByRole('row').filter({ hasText: name })).toContainText('"status": "up"');
  await expect(page.getByText(`Overall: ${report.status}`)).toBeVisible();
});

test('silences: create, list, expire', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await api.call('POST', '/api/v1/alerts/rules', {
    name: 'Silence me', query: { query: 'e2e.cpu', aggregation: 'avg' }, condition: 'gt', threshold: 1000, duration: '1m',
    severity: 'info', enabled: true, notification: { type: 'webhook', target: 'http://127.0.0.1:9/hook' },
  });
  await page.goto('/alerts/silences');
  await page.getByLabel('Rule', { exact: true }).selectOption({ label: 'Silence me' });
  await page.getByLabel('Hours').fill('3');
  await page.getByLabel('Comment').fill('maintenance window');
  const before = Date.now();
  await page.getByRole('button', { name: 'Create silence' }).click();
  const row = page.getByRole('table', { name: 'Silences' }).getByRole('row').filter({ hasText: 'maintenance window' });
  await expect(row).toContainText('Silence me');
  const listed = (await api.call<{ data: { comment: string; endsAt: string }[] }>('GET', '/api/v1/alerts/silences')).data.filter((s) => s.comment === 'maintenance window');
  expect(listed).toHaveLength(1);
  const ends = Date.parse(listed[0]!.endsAt) - before;
  expect(ends).toBeGreaterThan(3 * 3_600_000 - 60_000);
  expect(ends).toBeLessThan(3 * 3_600_000 + 60_000);
  await row.getByRole('button', { name: 'Expire' }).click();
  await expect(row).toHaveCount(0);
  expect((await api.call<{ data: { comment: string }[] }>('GET', '/api/v1/alerts/silences')).data.filter((s) => s.comment === 'maintenance window')).toHaveLength(0);
});

test('silences: label matchers and a later start, without a rule', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await page.goto('/alerts/silences');
  // Neither a rule nor a matcher: a silence of everything, refused in the form.
  await page.getByLabel('Comment').fill('planned upgrade');
  await page.getByRole('button', { name: 'Create silence' }).click();
  await expect(page.getByText('choose a rule or add a matcher')).toBeVisible();

  await page.getByRole('button', { name: 'Add matcher' }).click();
  await page.getByLabel('Matcher label 1').fill('host');
  await page.getByLabel('Matcher value 1').fill('web-1');
  await page.getByRole('button', { name: 'Add matcher' }).click();
  await page.getByLabel('Matcher label 2').fill('severity');
  await page.getByLabel('Matcher value 2').fill('critical');
  // Read as UTC, to the second, like the times the table lists.
  const starts = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
  await page.getByLabel('Starts', { exact: true }).fill(starts.toISOString().slice(0, 19));
  await page.getByLabel('Hours').fill('2');
  await page.getByRole('button', { name: 'Create silence' }).click();
  const row = page.getByRole('table', { name: 'Silences' }).getByRole('row').filter({ hasText: 'planned upgrade' });
  await expect(row).toContainText('host=web-1, severity=critical');
  await expect(row).toContainText('every rule');
  const listed = (await api.call<{ data: { comment: string; ruleId: string | null; matchers: Record<string, string>; startsAt: string; endsAt: string }[] }>('GET', '/api/v1/alerts/silences')).data.filter(
    (s) => s.comment === 'planned upgrade',
  );
  expect(listed).toHaveLength(1);
  expect(listed[0]!.ruleId).toBeNull();
  expect(listed[0]!.matchers).toEqual({ host: 'web-1', severity: 'critical' });
  expect(Date.parse(listed[0]!.startsAt)).toBe(starts.getTime());
  expect(Date.parse(listed[0]!.endsAt)).toBe(starts.getTime() + 2 * 3_600_000);
  await row.getByRole('button', { name: 'Expire' }).click();
  await expect(row).toHaveCount(0);
});

test('admin: a token created with an expiry carries it, and a past one is refused in the form', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await page.goto('/admin/tokens');
  await page.getByLabel('Token name').fill('short-lived');
  await page.getByLabel('Token expiry').fill('2020-01-01T00:00:00');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByText('must be in the future')).toBeVisible();
  await expect(page.getByTestId('secret')).toHaveCount(0);

  const expires = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
  await page.getByLabel('Token expiry').fill(expires.toISOString().slice(0, 19));
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('secret')).toBeVisible();
  const row = page.getByRole('table', { name: 'Tokens' }).getByRole('row').filter({ hasText: 'short-lived' });
  await expect(row).toContainText('expires');
  const tokens = (await api.call<{ data: { name: string; expiresAt: string | null }[] }>('GET', '/api/v1/auth/tokens')).data.filter((t) => t.name === 'short-lived');
  expect(tokens).toHaveLength(1);
  expect(Date.parse(tokens[0]!.expiresAt!)).toBe(expires.getTime());
});

test('admin pages say in words when the server refuses, never a blank page', async ({ loggedIn: page, expectHttpError }) => {
  expectHttpError(500, /\/api\/v1\/(users|auth\/tokens)$/);
  const failure = { error: 'database unavailable', code: 'INTERNAL_ERROR', details: null };
  await page.route(/\/api\/v1\/(users|auth\/tokens)$/, (route) =>
    route.request().method() === 'GET' ? route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify(failure) }) : route.continue(),
  );
  await page.goto('/admin');
  await expect(page.getByRole('alert')).toHaveText('database unavailable');
  await page.goto('/admin/tokens');
  await expect(page.getByRole('alert')).toHaveText('database unavailable');
});
