import { readFile } from 'node:fs/promises';
import { test, expect, login } from './fixtures';
import { DashboardView } from './pages';
import { Api, VIEWER } from './server';
import { CPU, HOSTS, SPAN_MINUTES, cpuValue, seedStart } from './seed';

test('explore: a query in the table view, then added to a dashboard', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const target = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Explore target', panels: [] });
  await page.getByRole('link', { name: 'Explore' }).click();
  await page.getByRole('button', { name: 'Time range' }).click();
  await page.getByRole('option', { name: 'Last 6 hours' }).click();
  await page.getByLabel('Metric', { exact: true }).fill(CPU);
  await page.getByLabel('Aggregation').selectOption('max');
  await page.getByLabel('Step', { exact: true }).fill('1m');
  await page.getByRole('tab', { name: 'Table' }).click();
  // One row per minute of the seed; the max across hosts is web-2's value each minute.
  const rows = page.getByRole('table', { name: 'Result' }).locator('tbody tr');
  await expect(rows).toHaveCount(SPAN_MINUTES);
  const values = await rows.locator('td:nth-child(3)').allTextContents();
  expect(values.map(Number)).toEqual(Array.from({ length: SPAN_MINUTES }, (_, m) => Math.max(...HOSTS.map((h) => cpuValue(h, m)))));

  await page.getByLabel('Dashboard', { exact: true }).selectOption({ label: 'Explore target' });
  await page.getByRole('button', { name: 'Add to dashboard' }).click();
  await expect(page.getByRole('heading', { name: 'Explore target' })).toBeVisible();
  const view = new DashboardView(page);
  await view.waitPainted(CPU);
  const stored = await api.call<{ data: { panels: { title: string; query: Record<string, unknown> }[] } }>('GET', `/api/v1/dashboards/${target.data.id}`);
  expect(stored.data.panels).toHaveLength(1);
  expect(stored.data.panels[0]!.query).toMatchObject({ query: CPU, aggregation: 'max', step: '1m' });
});

test('panel inspect: the query sent, the meta, and the CSV download', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const panel = { title: 'Web-1 raw', type: 'line', query: { query: CPU, aggregation: 'avg', tags: { host: 'web-1' }, step: '1m' }, options: {}, position: { x: 0, y: 0, w: 12, h: 8 } };
  const { data } = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Inspect', panels: [panel] });
  await page.goto(`/d/${data.id}?from=now-6h&to=now&refresh=off`);
  const view = new DashboardView(page);
  await view.waitPainted('Web-1 raw');
  await page.getByRole('button', { name: 'Inspect Web-1 raw' }).click();
  const dialog = page.getByRole('dialog', { name: 'Inspect: Web-1 raw' });
  const sent = JSON.parse((await dialog.getByTestId('inspect-request').textContent())!);
  expect(sent).toMatchObject({ query: CPU, aggregation: 'avg', tags: { host: 'web-1' }, step: '1m' });
  const meta = JSON.parse((await dialog.getByTestId('inspect-meta').textContent())!);
  expect(meta.step).toBe('1m');
  expect(meta.series).toBe(1);
  expect(Array.isArray(meta.tiers) && meta.tiers.length > 0).toBe(true);
  expect(typeof meta.cached).toBe('boolean');

  const [file] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download CSV' }).click()]);
  expect(file.suggestedFilename()).toBe('Web-1_raw.csv');
  const lines = (await readFile((await file.path())!, 'utf8')).trim().split('\n');
  expect(lines[0]).toBe('series,time,value');
  expect(lines).toHaveLength(SPAN_MINUTES + 1);
  const first = seedStart(Number(process.env.VIGIL_E2E_SEEDED_AT));
  expect(lines[1]).toBe(`${CPU},${new Date(first).toISOString()},${cpuValue('web-1', 0)}`);
  expect(lines.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(Array.from({ length: SPAN_MINUTES }, (_, m) => cpuValue('web-1', m)));
});

test('explore: the whole query is in the URL, so a reload shows the same one', async ({ loggedIn: page }) => {
  await page.goto('/explore?from=now-6h&to=now');
  await page.getByLabel('Metric', { exact: true }).fill(CPU);
  await page.getByLabel('Aggregation').selectOption('min');
  await page.getByLabel('Step', { exact: true }).fill('1m');
  await page.getByLabel('Group by').selectOption(['host']);
  await page.getByRole('button', { name: 'Add tag filter' }).click();
  await page.getByLabel('Tag key 1').selectOption('host');
  await page.getByLabel('Tag value 1').fill('web-2');
  await expect(page).toHaveURL(/groupBy=/);
  await page.reload();
  await expect(page.getByLabel('Metric', { exact: true })).toHaveValue(CPU);
  await expect(page.getByLabel('Aggregation')).toHaveValue('min');
  await expect(page.getByLabel('Step', { exact: true })).toHaveValue('1m');
  await expect(page.getByLabel('Tag value 1')).toHaveValue('web-2');
  await page.getByRole('tab', { name: 'Table' }).click();
  // Grouped by host and filtered to web-2: one series, web-2's values.
  const series = await page.getByRole('table', { name: 'Result' }).locator('tbody tr td:nth-child(1)').allTextContents();
  expect(new Set(series)).toEqual(new Set(['host=web-2']));
});

test('explore: a viewer is not offered to add the query to a dashboard', async ({ page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  await api.call('POST', '/api/v1/dashboards', { name: 'Public target', isPublic: true, panels: [] });
  await login(page, VIEWER.email, VIEWER.password, '/explore');
  await page.getByLabel('Metric', { exact: true }).fill(CPU);
  await expect(page.getByRole('button', { name: 'Add to dashboard' })).toHaveCount(0);
});

test('explore: the metric type-ahead finds a metric past the listing’s first page, asking once per pause', async ({ loggedIn: page, expectHttpError }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  // More names than the listing's first page (query.catalog_page_max, 1000), all
  // sorting before the one the user looks for.
  const target = 'e2e.zz_typeahead_target';
  const now = Date.now();
  const points = Array.from({ length: 1000 }, (_, i) => ({ name: `e2e.fill_${String(i).padStart(4, '0')}`, value: 1, timestamp: now, tags: {} }));
  points.push({ name: target, value: 1, timestamp: now, tags: {} });
  await api.call('POST', '/api/v1/metrics', points);
  await expect
    .poll(async () => (await api.call<{ meta: { total: number } }>('GET', '/api/v1/metrics?limit=1')).meta.total, { timeout: 30_000 })
    .toBeGreaterThan(1001);
  const firstPage = await api.call<{ data: { name: string }[] }>('GET', '/api/v1/metrics');
  expect(firstPage.data.map((m) => m.name), 'the target is past the first page').not.toContain(target);

  await page.goto('/explore?from=now-6h&to=now');
  const asked: string[] = [];
  const tagsAsked: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/api/v1/metrics' && url.searchParams.has('contains')) asked.push(url.searchParams.get('contains')!);
    if (url.pathname.endsWith('/tags')) tagsAsked.push(url.pathname);
  });
  // The word typed is a metric name no metric has: its tags are asked for once, not
  // for each prefix.
  expectHttpError(404, /^\/api\/v1\/metrics\/TYPEAHEAD\/tags$/);
  await page.getByLabel('Metric', { exact: true }).pressSequentially('TYPEAHEAD', { delay: 30 });
  const options = page.getByTestId('metric-options').locator('option');
  await expect.poll(() => options.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([target]);
  // Typed in one go: one request for the whole word, none per keystroke.
  expect(asked).toEqual(['TYPEAHEAD']);
  await expect.poll(() => tagsAsked).toEqual(['/api/v1/metrics/TYPEAHEAD/tags']);
});
