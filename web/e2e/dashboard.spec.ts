import { test, expect, login } from './fixtures';
import { DashboardsList, DashboardView } from './pages';
import { Api, ADMIN, VIEWER } from './server';
import { CPU, expected } from './seed';
import type { Page } from '@playwright/test';

const fmt = (n: number) => String(n);

async function apiDashboard(_page: Page, name: string, panels: unknown[]) {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const created = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name, panels });
  return { api, id: created.data.id };
}

const line = (title: string, x: number, y: number, extra: Record<string, unknown> = {}) => ({
  title,
  type: 'line',
  query: { query: CPU, aggregation: 'avg', groupBy: ['host'], step: '1m', ...extra },
  options: {},
  position: { x, y, w: 12, h: 8 },
});

test('login and logout', async ({ page, expectHttpError }) => {
  await login(page, ADMIN.email, ADMIN.password);
  await expect(page.getByRole('link', { name: 'Admin' })).toBeVisible();
  // The list may still be asked for while the session ends.
  expectHttpError(401, /\/api\/v1\/dashboards$/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await page.goto('/dashboards');
  await expect(page).toHaveURL(/\/login\?redirect=/);
});

test('a logged-out visit to a dashboard goes through the login page and back to it', async ({ page, expectHttpError }) => {
  const { id } = await apiDashboard(page, 'Bookmarked', [line('A', 0, 0)]);
  // The page asks for the session and the dashboard at once; both are refused.
  expectHttpError(401, new RegExp(`/api/v1/dashboards/${id}$`));
  await page.goto(`/d/${id}?from=now-2h`);
  await expect(page).toHaveURL(/\/login\?redirect=/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/d/${id}\\?from=now-2h`));
  await new DashboardView(page).waitPainted('A');
});

test('create a dashboard, add each panel type through the editor, and read the known data', async ({ loggedIn: page }) => {
  const list = new DashboardsList(page);
  await list.create('Known data');
  const view = new DashboardView(page);
  await view.chooseRange('Last 6 hours');
  await view.edit();
  await view.addPanel({ title: 'CPU lines', type: 'line', metric: CPU, step: '1m', groupBy: ['host'] });
  await view.edit();
  await view.addPanel({ title: 'CPU area', type: 'area', metric: CPU, step: '1m' });
  await view.edit();
  await view.addPanel({ title: 'CPU bars', type: 'bar', metric: CPU, step: '10m' });
  await view.edit();
  await view.addPanel({ title: 'Web-1 max', type: 'stat', metric: CPU, step: '1m', calculation: 'max', tag: ['host', 'web-1'] });
  await view.edit();
  await view.addPanel({ title: 'Web-2 last', type: 'gauge', metric: CPU, step: '1m', calculation: 'last', tag: ['host', 'web-2'] });

  for (const t of ['CPU lines', 'CPU area', 'CPU bars', 'Web-1 max', 'Web-2 last']) await view.waitPainted(t);
  const w1 = expected('web-1');
  const w2 = expected('web-2');
  await expect(view.panel('Web-1 max').getByTestId('value')).toHaveText(fmt(w1.max));
  await expect(view.panel('Web-2 last').getByTestId('value')).toHaveText(fmt(w2.last));
  await expect(view.legendCell('CPU lines', 'host=web-1', 'min')).toHaveText(fmt(w1.min));
  await expect(view.legendCell('CPU lines', 'host=web-1', 'max')).toHaveText(fmt(w1.max));
  await expect(view.legendCell('CPU lines', 'host=web-1', 'last')).toHaveText(fmt(w1.last));
  await expect(view.legendCell('CPU lines', 'host=web-2', 'max')).toHaveText(fmt(w2.max));
  // Click-to-hide a series.
  const toggle = view.panel('CPU lines').getByRole('button', { name: 'host=web-2' });
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
});

test('drag and resize are saved once and survive a reload', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Layout', [line('A', 0, 0), line('B', 12, 0)]);
  await page.goto(`/d/${id}`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.edit();
  const puts: { at: number; body: string }[] = [];
  page.on('request', (r) => r.method() === 'PUT' && r.url().endsWith(`/api/v1/dashboards/${id}`) && puts.push({ at: Date.now(), body: r.postData() ?? '' }));
  const handle = view.panel('A').locator('.drag-handle');
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + 10, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(box.x + 720, box.y + 40, { steps: 12 });
  await page.mouse.up();
  const dropped = Date.now();
  // A save is one PUT, sent about 500 ms after the gesture ends, never during it.
  await expect.poll(() => puts.length, { timeout: 5_000 }).toBe(1);
  expect(puts[0]!.at - dropped).toBeGreaterThanOrEqual(400);
  const resize = page.locator('.react-grid-item').filter({ has: view.panel('B') }).locator('.react-resizable-handle-se');
  const rbox = (await resize.boundingBox())!;
  await page.mouse.move(rbox.x + 5, rbox.y + 5);
  await page.mouse.down();
  await page.mouse.move(rbox.x - 200, rbox.y + 120, { steps: 8 });
  await page.mouse.up();
  await expect.poll(() => puts.length, { timeout: 5_000 }).toBe(2);
  await page.waitForTimeout(800);
  expect(puts.length, 'one PUT per gesture').toBe(2);
  const sent = JSON.parse(puts[1]!.body).layout as { i: string; x: number; y: number; w: number; h: number }[];
  await expect(page.getByText('Saving…')).toHaveCount(0);
  await page.reload();
  await view.waitPainted('A');
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const stored = await api.call<{ data: { layout: typeof sent; panels: { id: string; title: string }[] } }>('GET', `/api/v1/dashboards/${id}`);
  const byTitle = (t: string) => stored.data.panels.find((p) => p.title === t)!.id;
  const a = stored.data.layout.find((l) => l.i === byTitle('A'))!;
  const b = stored.data.layout.find((l) => l.i === byTitle('B'))!;
  expect(a.x).toBe(12);
  expect(b.w).toBeLessThan(12);
  expect(b.h).toBeGreaterThan(8);
  expect(sent.find((l) => l.i === byTitle('A'))).toEqual(a);
  expect(sent.find((l) => l.i === byTitle('B'))).toEqual(b);
  // The grid shows the stored positions after the reload.
  // A sits in the right half (x = 12 of 24 columns) after the reload.
  expect((await view.panel('A').boundingBox())!.x).toBeGreaterThan(600);
});

test('a failed save shows a toast and the layout reverts', async ({ loggedIn: page, expectHttpError }) => {
  const { id } = await apiDashboard(page, 'Revert', [line('A', 0, 0), line('B', 12, 0)]);
  await page.goto(`/d/${id}`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  expectHttpError(500, new RegExp(`/api/v1/dashboards/${id}$`));
  await page.route(`**/api/v1/dashboards/${id}`, (route) =>
    route.request().method() === 'PUT'
      ? route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'disk on fire', code: 'INTERNAL_ERROR', details: null }) })
      : route.continue(),
  );
  await view.edit();
  const before = await view.box('A');
  const box = (await view.panel('A').locator('.drag-handle').boundingBox())!;
  await page.mouse.move(box.x + 10, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(box.x + 720, box.y + 40, { steps: 12 });
  await page.mouse.up();
  await expect(page.getByText(/layout could not be saved \(disk on fire\)/)).toBeVisible();
  await expect.poll(async () => (await view.panel('A').boundingBox())?.x ?? Number.NaN, { timeout: 5_000 }).toBeCloseTo(before.x, 0);
  await expect.poll(async () => (await view.panel('A').boundingBox())?.y ?? Number.NaN, { timeout: 5_000 }).toBeCloseTo(before.y, 0);
});

test('two editors: the second sees the conflict and nothing is overwritten', async ({ loggedIn: page, browser, expectHttpError }) => {
  const { id, api } = await apiDashboard(page, 'Conflict', [line('A', 0, 0), line('B', 12, 0)]);
  const other = await browser.newContext({ timezoneId: 'Asia/Tokyo', viewport: { width: 1400, height: 900 } });
  const page2 = await other.newPage();
  await login(page2, ADMIN.email, ADMIN.password, `/d/${id}`);
  await page.goto(`/d/${id}`);
  const v1 = new DashboardView(page);
  const v2 = new DashboardView(page2);
  await v1.waitPainted('A');
  await v2.waitPainted('A');
  await v1.edit();
  await v2.edit();
  const drag = async (p: Page, v: DashboardView, title: string, dx: number) => {
    const box = (await v.panel(title).locator('.drag-handle').boundingBox())!;
    await p.mouse.move(box.x + 10, box.y + 5);
    await p.mouse.down();
    await p.mouse.move(box.x + dx, box.y + 40, { steps: 12 });
    await p.mouse.up();
  };
  const firstSaved = page.waitForResponse((r) => r.url().endsWith(`/api/v1/dashboards/${id}`) && r.request().method() === 'PUT');
  await drag(page, v1, 'A', 720);
  expect((await firstSaved).status()).toBe(200);
  const afterFirst = await api.call<{ data: { version: number; layout: unknown } }>('GET', `/api/v1/dashboards/${id}`);
  expectHttpError(409, new RegExp(`/api/v1/dashboards/${id}$`));
  await drag(page2, v2, 'B', -720);
  const dialog = page2.getByRole('dialog', { name: 'Someone else changed this dashboard' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('conflict-changes')).toContainText('B moved');
  const now = await api.call<{ data: { version: number; layout: unknown } }>('GET', `/api/v1/dashboards/${id}`);
  expect(now.data).toEqual(afterFirst.data);
  await dialog.getByRole('button', { name: 'Take theirs' }).click();
  await expect(dialog).toBeHidden();
  await other.close();
});

test('a time range preset and a drag-zoom change the URL, and Back restores', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Zoom', [line('A', 0, 0)]);
  await page.goto(`/d/${id}`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.chooseRange('Last 1 hour');
  await expect(page).toHaveURL(/from=now-1h/);
  await view.waitPainted('A');
  const over = (await view.panel('A').locator('.u-over').boundingBox())!;
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 8 });
  await page.mouse.up();
  await expect(page).toHaveURL(/from=%22?\d{13}/);
  const url = new URL(page.url());
  const from = Number(JSON.parse(url.searchParams.get('from')!));
  const to = Number(JSON.parse(url.searchParams.get('to')!));
  expect(to - from).toBeGreaterThan(10 * 60_000);
  expect(to - from).toBeLessThan(25 * 60_000);
  await page.goBack();
  await expect(page).toHaveURL(/from=now-1h/);
  await expect(page.getByRole('button', { name: 'Time range' })).toContainText('Last 1 hour');
});

test('hovering one chart shows the crosshair and tooltip on the others', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Crosshair', [line('A', 0, 0), line('B', 12, 0)]);
  await page.goto(`/d/${id}?from=now-3h`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.waitPainted('B');
  await expect(view.panel('B').getByRole('tooltip')).toBeHidden();
  const over = (await view.panel('A').locator('.u-over').boundingBox())!;
  await page.mouse.move(over.x + over.width * 0.9, over.y + over.height / 2, { steps: 4 });
  // B follows A's cursor: its tooltip names the time (in the view's zone) and each series.
  const tip = view.panel('B').getByRole('tooltip');
  await expect(tip).toBeVisible();
  await expect(tip).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  await expect(tip).toContainText('host=web-1: ');
  await expect(tip).toContainText('host=web-2: ');
  await expect(view.panel('A').getByRole('tooltip')).toBeVisible();
  await page.mouse.move(0, 0);
  await expect(tip).toBeHidden();
});

test('a theme switch redraws every chart (its axes take the new colours)', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Theme', [line('A', 0, 0), line('B', 12, 0)]);
  await page.goto(`/d/${id}?refresh=off`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.waitPainted('B');
  const draws = (t: string) => view.panel(t).getAttribute('data-draws').then(Number);
  const before = { A: await draws('A'), B: await draws('B') };
  const theme = await page.locator('html').getAttribute('data-theme');
  await page.getByRole('button', { name: /^Switch to (light|dark) theme$/ }).click();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', theme!);
  // The axes take the new theme's colours: every chart is redrawn (when the page is idle).
  await expect.poll(() => draws('A'), { timeout: 5_000 }).toBeGreaterThan(before.A);
  await expect.poll(() => draws('B'), { timeout: 5_000 }).toBeGreaterThan(before.B);
});

test('refresh at 5s redraws without flicker', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Flicker', [line('A', 0, 0), line('B', 12, 0), { ...line('S', 0, 8), type: 'stat', options: { calculation: 'last' } }]);
  await page.goto(`/d/${id}?refresh=5s`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.waitPainted('B');
  await page.evaluate(() => {
    const w = window as unknown as { flicker: { removedCanvas: number; overlays: number; blank: number } };
    w.flicker = { removedCanvas: 0, overlays: 0, blank: 0 };
    const grid = document.querySelector('[data-testid="grid"]')!;
    new MutationObserver((records) => {
      for (const r of records) {
        r.removedNodes.forEach((n) => {
          if (n.nodeName === 'CANVAS' || (n instanceof Element && n.querySelector('canvas'))) w.flicker.removedCanvas++;
        });
        r.addedNodes.forEach((n) => {
          if (n instanceof Element && n.matches('.loading-overlay')) w.flicker.overlays++;
        });
        if (r.type === 'attributes' && r.target instanceof Element && r.target.getAttribute('data-state') !== 'painted') w.flicker.blank++;
      }
    }).observe(grid, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });
  const draws = async () => Number(await view.panel('A').getAttribute('data-draws'));
  const start = await draws();
  let requests = 0;
  page.on('request', (r) => /\/api\/v1\/query/.test(r.url()) && requests++);
  await expect.poll(() => requests, { timeout: 25_000 }).toBeGreaterThanOrEqual(3);
  await expect.poll(draws, { timeout: 5_000 }).toBeGreaterThanOrEqual(start + 3);
  const flicker = await page.evaluate(() => (window as unknown as { flicker: unknown }).flicker);
  expect(flicker).toEqual({ removedCanvas: 0, overlays: 0, blank: 0 });
  expect(requests).toBeGreaterThanOrEqual(3);
});

test('auto-refresh pauses while the tab is hidden and resumes when it is shown', async ({ loggedIn: page }) => {
  const { id } = await apiDashboard(page, 'Hidden tab', [line('A', 0, 0)]);
  await page.goto(`/d/${id}?refresh=5s`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  const setVisibility = (state: 'hidden' | 'visible') =>
    page.evaluate((s) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
  await setVisibility('hidden');
  let requests = 0;
  page.on('request', (r) => /\/api\/v1\/query/.test(r.url()) && requests++);
  // Two intervals and more: a visible tab would have refreshed twice.
  await page.waitForTimeout(11_000);
  expect(requests, 'queries sent while hidden').toBe(0);
  await setVisibility('visible');
  // More than an interval has passed, so showing the tab refreshes at once.
  await expect.poll(() => requests, { timeout: 3_000 }).toBeGreaterThanOrEqual(1);
});

test('a variable switches what the panels show', async ({ loggedIn: page }) => {
  const { id, api } = await apiDashboard(page, 'Variables', [
    { title: 'Host max', type: 'stat', query: { query: CPU, aggregation: 'max', tags: { host: '$host' }, step: '1m' }, options: { calculation: 'max' }, position: { x: 0, y: 0, w: 8, h: 6 } },
  ]);
  // The dashboard model gains `variables` on servers with the dashboard settings;
  // without them the URL still drives the substitution.
  await api.call('PUT', `/api/v1/dashboards/${id}`, { version: 2, variables: [{ name: 'host', metric: CPU, tagKey: 'host', multi: false, includeAll: true }] }).catch(() => null);
  await page.goto(`/d/${id}?var-host=web-1`);
  const view = new DashboardView(page);
  await view.waitPainted('Host max');
  await expect(view.panel('Host max').getByTestId('value')).toHaveText(String(expected('web-1').max));
  await page.goto(`/d/${id}?var-host=web-2`);
  await expect(view.panel('Host max').getByTestId('value')).toHaveText(String(expected('web-2').max));
});

test('a panel whose query fails shows its error while the others paint', async ({ loggedIn: page, expectHttpError }) => {
  const { id } = await apiDashboard(page, 'Errors', [line('Good', 0, 0), line('Also good', 0, 8), { ...line('Bad', 12, 0), query: { query: 'e2e.broken', aggregation: 'avg', step: '1m' } }]);
  // The server answers the other queries; the one for e2e.broken fails as the server
  // would fail it, whichever path (batch or single queries) the client takes.
  const failure = { error: 'the query timed out after 10s', code: 'UNAVAILABLE', details: null };
  expectHttpError(503, /\/api\/v1\/query$/);
  await page.route('**/api/v1/query', (route) =>
    route.request().postDataJSON()?.query === 'e2e.broken'
      ? route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify(failure) })
      : route.continue(),
  );
  await page.route('**/api/v1/query/batch', async (route) => {
    const response = await route.fetch();
    if (!response.ok()) return route.fulfill({ response });
    const body = await response.json();
    const sent = route.request().postDataJSON() as { queries: { id: string; query: string }[] };
    const bad = new Set(sent.queries.filter((q) => q.query === 'e2e.broken').map((q) => q.id));
    body.data = body.data.map((item: { id: string }) => (bad.has(item.id) ? { id: item.id, error: failure } : item));
    return route.fulfill({ response, json: body });
  });
  await page.goto(`/d/${id}`);
  const view = new DashboardView(page);
  await view.waitPainted('Good');
  await view.waitPainted('Also good');
  const bad = view.panel('Bad');
  await expect(bad).toHaveAttribute('data-state', 'error');
  await expect(bad.getByRole('alert')).toHaveText(failure.error);
});

test('a viewer sees no edit controls and the server refuses them anyway', async ({ page, expectHttpError }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const created = await api.call<{ data: { id: string; version: number } }>('POST', '/api/v1/dashboards', { name: 'Shared', isPublic: true, panels: [line('A', 0, 0)] });
  await login(page, VIEWER.email, VIEWER.password, `/d/${created.data.id}`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await expect(page.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Dashboards' }).click();
  await expect(page.getByRole('button', { name: 'New dashboard' })).toHaveCount(0);
  expectHttpError(403, /.*/);
  const status = await page.evaluate(async ([id, version]) => {
    const r = await fetch(`/api/v1/dashboards/${id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ version, name: 'hijacked' }) });
    return r.status;
  }, [created.data.id, created.data.version] as const);
  expect(status).toBe(403);
});

test('an expired session redirects to login and the draft is offered back', async ({ loggedIn: page, context, expectHttpError }) => {
  const { id } = await apiDashboard(page, 'Expiry', [line('A', 0, 0), line('B', 12, 0)]);
  await page.goto(`/d/${id}?from=now-3h`);
  const view = new DashboardView(page);
  await view.waitPainted('A');
  await view.edit();
  await context.clearCookies();
  expectHttpError(401, /.*/);
  const box = (await view.panel('A').locator('.drag-handle').boundingBox())!;
  await page.mouse.move(box.x + 10, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(box.x + 720, box.y + 40, { steps: 12 });
  await page.mouse.up();
  await expect(page).toHaveURL(/\/login\?redirect=/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/d/${id}\\?from=now-3h`));
  const dialog = page.getByRole('dialog', { name: 'Unsaved changes found' });
  await expect(dialog).toBeVisible();
  const saved = page.waitForResponse((r) => r.url().endsWith(`/api/v1/dashboards/${id}`) && r.request().method() === 'PUT');
  await dialog.getByRole('button', { name: 'Restore draft' }).click();
  expect((await saved).status()).toBe(200);
});

test('export then import gives the same dashboard', async ({ loggedIn: page }) => {
  const { id, api } = await apiDashboard(page, 'Round trip', [line('A', 0, 0), { ...line('S', 12, 0), type: 'stat', options: { unit: 'percent', calculation: 'avg', thresholds: [{ value: 15, color: 'red' }] } }]);
  await page.goto('/dashboards');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export Round trip' }).click();
  const file = await (await download).path();
  const { readFileSync } = await import('node:fs');
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  await api.call('DELETE', `/api/v1/dashboards/${id}`);
  await page.reload();
  await expect(page.getByRole('link', { name: 'Round trip', exact: true })).toHaveCount(0);
  const importResponse = page.waitForResponse((r) => r.url().endsWith('/api/v1/dashboards/import'));
  await page.getByTestId('import-file').setInputFiles(file);
  expect((await importResponse).status()).toBe(201);
  await expect(page.getByRole('link', { name: 'Round trip', exact: true })).toBeVisible({ timeout: 15_000 });
  const list = await api.call<{ data: { id: string; name: string }[] }>('GET', '/api/v1/dashboards');
  const imported = list.data.find((d) => d.name === 'Round trip')!;
  const again = await api.call<{ data: unknown }>('GET', `/api/v1/dashboards/${imported.id}/export`);
  expect(again.data).toEqual(exported);
});

test('an expired session keeps the panel editor’s unsaved edits', async ({ loggedIn: page, context, expectHttpError }) => {
  const { id, api } = await apiDashboard(page, 'Kept edits', [line('A', 0, 0)]);
  const stored = await api.call<{ data: { panels: { id: string }[] } }>('GET', `/api/v1/dashboards/${id}`);
  const panelId = stored.data.panels[0]!.id;
  await page.goto(`/d/${id}/panel/${panelId}?from=now-3h`);
  const title = page.getByLabel('Title', { exact: true });
  await expect(title).toHaveValue('A');
  // The server's own rule for a metric name, caught in the form: no request leaves.
  const metric = page.getByLabel('Metric', { exact: true });
  // The editor asks for the tags of what is typed; the server refuses this name.
  expectHttpError(400, /\/api\/v1\/metrics\/[^/]+\/tags$/);
  expectHttpError(404, /\/api\/v1\/metrics\/[^/]+\/tags$/);
  await metric.fill('e2e cpu');
  await page.getByRole('button', { name: 'Save panel' }).click();
  // The form's own words next to the field (the live preview shows the server's too).
  await expect(page.getByText('name "e2e cpu" must match [a-zA-Z_][a-zA-Z0-9_.:]*', { exact: true })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/d/${id}/panel/${panelId}`));
  await metric.fill(CPU);
  await title.fill('A renamed');
  await page.getByLabel('Thresholds').fill('15:red');
  await context.clearCookies();
  expectHttpError(401, /.*/);
  await page.getByRole('button', { name: 'Save panel' }).click();
  await expect(page).toHaveURL(/\/login\?redirect=/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(new RegExp(`/d/${id}/panel/${panelId}\\?from=now-3h`));
  await expect(page.getByRole('status').filter({ hasText: 'the changes you had not saved are back' })).toBeVisible();
  await expect(title).toHaveValue('A renamed');
  await expect(page.getByLabel('Thresholds')).toHaveValue('15:red');
  await page.getByRole('button', { name: 'Save panel' }).click();
  // Back on the dashboard (the editor's live preview is a region of that name too).
  await expect(page).toHaveURL(new RegExp(`/d/${id}\\?from=now-3h$`));
  await new DashboardView(page).waitPainted('A renamed');
  // Kept once: opening the editor again shows what is stored, with no notice.
  await page.goto(`/d/${id}/panel/${panelId}`);
  await expect(title).toHaveValue('A renamed');
  await expect(page.getByRole('status').filter({ hasText: 'the changes you had not saved are back' })).toHaveCount(0);
});

test('the list holds every dashboard past the first page, and search finds the oldest', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  // The listing is newest first, 50 a page by default: the first of these is on page 2.
  const ids: string[] = [];
  for (let k = 0; k < 55; k++) {
    const created = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: `Paged ${String(k).padStart(3, '0')}` });
    ids.push(created.data.id);
  }
  try {
    await page.goto('/dashboards?q=Paged');
    await expect(page.getByRole('link', { name: /^Paged \d{3}$/ })).toHaveCount(55);
    await page.getByLabel('Search dashboards').fill('Paged 000');
    await expect(page.getByRole('link', { name: 'Paged 000', exact: true })).toBeVisible();
  } finally {
    for (const id of ids) await api.call('DELETE', `/api/v1/dashboards/${id}`);
  }
});

test('a panel whose series drop from two to one redraws without an error', async ({ loggedIn: page }) => {
  const api = await Api.login(process.env.VIGIL_E2E_URL!);
  const created = await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', {
    name: 'Fewer series',
    variables: [{ name: 'host', metric: CPU, tagKey: 'host', includeAll: true }],
    panels: [{ ...line('Hosts', 0, 0), query: { query: CPU, aggregation: 'avg', groupBy: ['host'], step: '1m', tags: { host: '$host' } } }],
  });
  await page.goto(`/d/${created.data.id}?from=now-3h&refresh=off`);
  const view = new DashboardView(page);
  await view.waitPainted('Hosts');
  const rows = view.panel('Hosts').locator('tr[data-series]');
  await expect(rows).toHaveCount(2);
  // The same chart is handed one series where it drew two (uPlot threw on that).
  await page.getByLabel('host', { exact: true }).selectOption('web-1');
  await expect(rows).toHaveCount(1);
  await expect(view.panel('Hosts')).toHaveAttribute('data-state', 'painted');
  await expect(view.panel('Hosts').locator('canvas')).toHaveCount(1);
});
