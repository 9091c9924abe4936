import { test, expect } from './fixtures';
import { AlertsList, DashboardView } from './pages';
import { Api } from './server';
import { CPU } from './seed';

const SHOTS = `${import.meta.dirname}/../../docs/screenshots`;

test('an alert rule created in the UI fires on ingested data', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const now = Date.now();
  const points = Array.from({ length: 12 }, (_, k) => ({ name: 'e2e.queue', value: 100, timestamp: now - k * 10_000, tags: { host: 'web-1' } }));
  await api.call('POST', '/api/v1/metrics', points);
  await page.getByRole('link', { name: 'Alerts' }).click();
  await page.getByRole('button', { name: 'New rule' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Queue too deep');
  await page.getByLabel('Metric', { exact: true }).fill('e2e.queue');
  // Only what the server evaluates rules with (from rollups) is offered.
  await expect(page.getByLabel('Aggregation').locator('option')).toHaveText(['avg', 'min', 'max', 'sum', 'count']);
  await page.getByLabel('Aggregation').selectOption('max');
  await page.getByLabel('Condition').selectOption('gt');
  await page.getByLabel('Threshold').fill('50');
  await page.getByLabel('For', { exact: true }).fill('0s');
  await page.getByLabel('Window').fill('5m');
  await page.getByLabel('Severity').selectOption('critical');
  await page.getByLabel('Notification type').selectOption('webhook');
  await page.getByLabel('Target').fill('http://127.0.0.1:9/hook');
  // The unsaved rule, evaluated as written: max 100 > 50 with For 0s would fire.
  await page.getByRole('button', { name: 'Evaluate now' }).click();
  const preview = page.getByRole('table', { name: 'Evaluation' }).getByRole('row').nth(1);
  await expect(preview.getByRole('cell').nth(1)).toHaveText('100');
  await expect(preview.getByRole('cell').nth(2)).toHaveText('yes');
  await expect(preview.getByRole('cell').nth(4)).toHaveText('firing');
  await page.getByRole('button', { name: 'Save rule' }).click();
  const row = new AlertsList(page).row('Queue too deep');
  await expect(row).toBeVisible();
  await expect(row.getByTestId('rule-state')).toHaveText('firing', { timeout: 30_000 });
  await page.screenshot({ path: `${SHOTS}/alerts.png` });
});

test('the enable switch rolls back when the server refuses', async ({ loggedIn: page, expectHttpError }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await api.call('POST', '/api/v1/alerts/rules', {
    name: 'Switch me', query: { query: CPU, aggregation: 'avg' }, condition: 'gt', threshold: 1000, duration: '1m',
    severity: 'info', enabled: true, notification: { type: 'webhook', target: 'http://127.0.0.1:9/hook' },
  });
  await page.getByRole('link', { name: 'Alerts' }).click();
  const row = new AlertsList(page).row('Switch me');
  const toggle = row.getByRole('switch', { name: 'Enabled' });
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  expectHttpError(500, /\/api\/v1\/alerts\/rules\/[^/]+$/);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/api/v1/alerts/rules/*', async (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    await held;
    await route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'database unavailable', code: 'INTERNAL_ERROR', details: null }) });
  });
  await toggle.click();
  // Flipped at once, before the server has answered...
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  release();
  // ...and back, with a toast, when it refuses.
  await expect(page.getByText(/Could not disable Switch me: database unavailable/)).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
});

test('screenshots of a dashboard in both themes', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const q = { query: CPU, aggregation: 'avg', groupBy: ['host'], step: '1m' };
  const created = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', {
    name: 'Web fleet',
    panels: [
      { title: 'CPU by host', type: 'line', query: q, options: { unit: 'percent', thresholds: [{ value: 50, color: '#ef4444' }] }, position: { x: 0, y: 0, w: 12, h: 9 } },
      { title: 'CPU (area)', type: 'area', query: { ...q, groupBy: null }, options: { unit: 'percent' }, position: { x: 12, y: 0, w: 12, h: 9 } },
      { title: 'Peak CPU', type: 'stat', query: { ...q, groupBy: null, aggregation: 'max' }, options: { unit: 'percent', calculation: 'max', thresholds: [{ value: 50, color: '#f59e0b' }] }, position: { x: 0, y: 9, w: 6, h: 6 } },
      { title: 'Current CPU', type: 'gauge', query: { ...q, groupBy: null }, options: { unit: 'percent', calculation: 'last', min: 0, max: 100, thresholds: [{ value: 40, color: '#f59e0b' }, { value: 80, color: '#ef4444' }] }, position: { x: 6, y: 9, w: 6, h: 6 } },
      { title: 'Samples per 10 min', type: 'bar', query: { ...q, groupBy: null, aggregation: 'count', step: '10m' }, options: {}, position: { x: 12, y: 9, w: 12, h: 6 } },
    ],
  });
  const view = new DashboardView(page);
  for (const theme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.evaluate(() => localStorage.removeItem('vigil.theme'));
    await page.goto(`/d/${created.data.id}?from=now-3h&refresh=off`);
    for (const t of ['CPU by host', 'CPU (area)', 'Peak CPU', 'Current CPU', 'Samples per 10 min']) await view.waitPainted(t);
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
    await page.screenshot({ path: `${SHOTS}/dashboard-${theme}.png` });
  }
});

test('history filtered by rule, reached from the rule’s row', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const now = Date.now();
  const points = Array.from({ length: 12 }, (_, k) => ({ name: 'e2e.history', value: 100, timestamp: now - k * 10_000, tags: { host: 'web-1' } }));
  await api.call('POST', '/api/v1/metrics', points);
  const rule = (name: string) => ({
    name, query: { query: 'e2e.history', aggregation: 'max', window: '5m' }, condition: 'gt', threshold: 50, duration: '0s',
    severity: 'info', enabled: true, notification: { type: 'webhook', target: 'http://127.0.0.1:9/hook' },
  });
  const a = await api.call<{ data: { id: string } }>('POST', '/api/v1/alerts/rules', rule('History A'));
  const b = await api.call<{ data: { id: string } }>('POST', '/api/v1/alerts/rules', rule('History B'));
  for (const id of [a.data.id, b.data.id]) {
    await expect
      .poll(async () => (await api.call<{ data: unknown[] }>('GET', `/api/v1/alerts/history?ruleId=${id}`)).data.length, { timeout: 30_000 })
      .toBeGreaterThan(0);
  }
  await page.getByRole('link', { name: 'Alerts' }).click();
  await new AlertsList(page).row('History A').getByRole('link', { name: 'History of History A' }).click();
  await expect(page).toHaveURL(new RegExp(`/alerts/history\\?ruleId=${a.data.id}`));
  const ruleCells = page.getByRole('table', { name: 'Alert history' }).locator('tbody tr td:nth-child(2)');
  await expect(ruleCells.first()).toHaveText('History A');
  expect(await ruleCells.allTextContents()).not.toContain('History B');
  await page.getByLabel('Rule', { exact: true }).selectOption({ label: 'History B' });
  await expect(page).toHaveURL(new RegExp(`ruleId=${b.data.id}`));
  await expect(ruleCells.first()).toHaveText('History B');
  expect(await ruleCells.allTextContents()).not.toContain('History A');
  await page.getByLabel('Rule', { exact: true }).selectOption({ label: 'every rule' });
  await expect(ruleCells.filter({ hasText: 'History A' }).first()).toBeVisible();
  await expect(ruleCells.filter({ hasText: 'History B' }).first()).toBeVisible();
});

test('history filtered by a time window kept in the URL', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const now = Date.now();
  const points = Array.from({ length: 12 }, (_, k) => ({ name: 'e2e.window', value: 100, timestamp: now - k * 10_000, tags: { host: 'web-1' } }));
  await api.call('POST', '/api/v1/metrics', points);
  const rule = await api.call<{ data: { id: string } }>('POST', '/api/v1/alerts/rules', {
    name: 'History window', query: { query: 'e2e.window', aggregation: 'max', window: '5m' }, condition: 'gt', threshold: 50, duration: '0s',
    severity: 'info', enabled: true, notification: { type: 'webhook', target: 'http://127.0.0.1:9/hook' },
  });
  let at = '';
  await expect
    .poll(async () => {
      const events = (await api.call<{ data: { at: string }[] }>('GET', `/api/v1/alerts/history?ruleId=${rule.data.id}`)).data;
      at = events[events.length - 1]?.at ?? '';
      return at;
    }, { timeout: 30_000 })
    .not.toBe('');
  // The inputs read UTC to the second, as the table lists the events' times.
  const utc = (offsetMs: number) => new Date(Date.parse(at) + offsetMs).toISOString().slice(0, 19);
  const rows = page.getByRole('table', { name: 'Alert history' }).locator('tbody tr');

  await page.goto(`/alerts/history?ruleId=${rule.data.id}`);
  await expect(rows).toHaveCount(1);
  await page.getByLabel('From', { exact: true }).fill(utc(60_000));
  await expect(page).toHaveURL(/[?&]from=/);
  await expect(page).toHaveURL(new RegExp(`ruleId=${rule.data.id}`));
  await expect(rows).toHaveCount(0);

  // Each bound is one navigation: the second waits for the first to be in the URL, or
  // it would be computed from the search the first has not replaced yet.
  // Under load the fill can land while the page re-renders from the first navigation
  // and be overwritten by it: fill again until the URL takes the new bound.
  const withLateFrom = page.url();
  await expect(async () => {
    await page.getByLabel('From', { exact: true }).fill(utc(-60_000));
    await expect(page).not.toHaveURL(withLateFrom, { timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await page.getByLabel('To', { exact: true }).fill(utc(60_000));
  await expect(page).toHaveURL(/[?&]to=/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first().locator('td').first()).toHaveText(at);

  await page.reload();
  await expect(page.getByLabel('From', { exact: true })).toHaveValue(utc(-60_000));
  await expect(page.getByLabel('To', { exact: true })).toHaveValue(utc(60_000));
  await expect(rows).toHaveCount(1);

  // To before the event: nothing; To before From: the form says so.
  await page.getByLabel('To', { exact: true }).fill(utc(-30_000));
  await expect(rows).toHaveCount(0);
  await page.getByLabel('To', { exact: true }).fill(utc(-120_000));
  await expect(page.getByText('must be after From')).toBeVisible();

  await page.goBack();
  await expect(page.getByLabel('To', { exact: true })).toHaveValue(utc(-30_000));
  await expect(page.getByText('must be after From')).toHaveCount(0);
});

test('history paging starts again at the newest page when Back changes the filters', async ({ loggedIn: page }) => {
  // Pages are stubbed: two pages of real events would take more than 50 firings.
  const event = (id: number, ruleName: string) => ({
    id, at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)).toISOString(), ruleId: '00000000-0000-0000-0000-000000000001', ruleName,
    severity: 'info', state: 'firing', threshold: 1, value: 2, labels: {}, silenced: false, notification: 'sent',
  });
  const asked: (string | null)[] = [];
  await page.route(/\/api\/v1\/alerts\/history\?/, (route) => {
    const cursor = new URL(route.request().url()).searchParams.get('cursor');
    asked.push(cursor);
    const body = cursor ? { data: [event(1, 'Older page')], meta: {} } : { data: [event(9, 'Newest page')], meta: { nextCursor: 9 } };
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  });
  const ruleCells = page.getByRole('table', { name: 'Alert history' }).locator('tbody tr td:nth-child(2)');
  await page.goto('/alerts/history');
  await expect(ruleCells).toHaveText(['Newest page']);
  await page.getByLabel('From', { exact: true }).fill('2026-01-01T00:00:00');
  await expect(page).toHaveURL(/[?&]from=/);
  await expect(ruleCells).toHaveText(['Newest page']);
  await page.getByRole('button', { name: 'Older' }).click();
  await expect(ruleCells).toHaveText(['Older page']);
  await page.goBack();
  await expect(page).not.toHaveURL(/[?&]from=/);
  await expect(ruleCells).toHaveText(['Newest page']);
  await expect(page.getByRole('button', { name: 'Newer' })).toBeDisabled();
  expect(asked.at(-1), 'the last page asked for is the newest').toBeNull();
});
