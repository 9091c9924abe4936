// Figures for docs/benchmarks-ui.md: a dashboard of 12 panels over 24 h, 3 series each
// (1-minute points), against the real binary. Prints one `figure: name value` line each.
import { test, expect, type Page, type CDPSession } from '@playwright/test';
import { Api } from '../e2e/server';
import { login } from '../e2e/fixtures';

const PANELS = 12;
const HOSTS = ['a', 'b', 'c'];
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 30);
const HEAP_REFRESHES = Number(process.env.BENCH_HEAP_REFRESHES ?? 120);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const figure = (name: string, value: number | string) => console.log(`figure: ${name} ${typeof value === 'number' ? value.toFixed(1) : value}`);

async function seed(api: Api): Promise<string> {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  for (let k = 0; k < PANELS; k++) {
    const points = [];
    for (const host of HOSTS) for (let m = 0; m < 1440; m++) points.push({ name: `bench.m${k}`, value: Math.sin(m / 30 + k) * 40 + 50 + HOSTS.indexOf(host) * 5, timestamp: now - m * 60_000, tags: { host } });
    await api.call('POST', '/api/v1/metrics', points);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const panels = Array.from({ length: PANELS }, (_, k) => ({
    title: `Panel ${k + 1}`,
    type: k % 3 === 0 ? 'area' : 'line',
    query: { query: `bench.m${k}`, aggregation: 'avg', groupBy: ['host'] },
    options: { unit: 'percent' },
    position: { x: (k % 3) * 8, y: Math.floor(k / 3) * 7, w: 8, h: 7 },
  }));
  return (await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Bench', panels })).data.id;
}

const allPainted = (page: Page, n: number) =>
  page.waitForFunction((count) => document.querySelectorAll('section[data-state="painted"]').length === count, n, { timeout: 30_000 });

const drawsOf = (page: Page) => page.evaluate(() => [...document.querySelectorAll('section[data-draws]')].map((s) => Number(s.getAttribute('data-draws'))));

test('ui figures', async ({ browser }) => {
  const url = process.env.VIGIL_E2E_URL!;
  const api = await Api.login(url);
  const id = await seed(api);
  const target = `${url}/d/${id}?from=now-24h&to=now&refresh=off`;

  // Navigation to all 12 painted, cold browser cache (a new context per run), warm server.
  const navs: number[] = [];
  for (let run = 0; run < RUNS + 1; run++) {
    const context = await browser.newContext({ baseURL: url, timezoneId: 'UTC', viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    await login(page, 'admin@e2e.test', 'e2e-admin-password');
    await page.goto('about:blank');
    await page.goto(target);
    await allPainted(page, PANELS);
    const t = await page.evaluate(() => performance.now());
    if (run > 0) navs.push(t); // the first run warms the server's caches
    await context.close();
  }
  figure('navigation_to_painted_median_ms', pct(navs, 50));
  figure('navigation_to_painted_p95_ms', pct(navs, 95));

  const context = await browser.newContext({ baseURL: url, timezoneId: 'UTC', viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  await login(page, 'admin@e2e.test', 'e2e-admin-password');
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const queryRequests = new Map<string, number>();
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.requestWillBeSent', (e) => {
    if (/\/api\/v1\/query/.test(e.request.url)) {
      queryRequests.set(e.requestId, 0);
      requests++;
    }
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (queryRequests.has(e.requestId)) bytes += e.encodedDataLength;
  });
  const scripts: number[] = [];
  cdp.on('Network.responseReceived', (e) => {
    if (e.type === 'Script') scripts.push(1);
  });
  await page.goto(target);
  await allPainted(page, PANELS);
  await page.evaluate(() => {
    const w = window as unknown as { flicker: { removedCanvas: number; notPainted: number } };
    w.flicker = { removedCanvas: 0, notPainted: 0 };
    new MutationObserver((records) => {
      for (const r of records) {
        r.removedNodes.forEach((n) => (n.nodeName === 'CANVAS' || (n instanceof Element && n.querySelector('canvas'))) && w.flicker.removedCanvas++);
        if (r.type === 'attributes' && (r.target as Element).getAttribute('data-state') !== 'painted') w.flicker.notPainted++;
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  });

  // Refresh cycles: click to every panel redrawn, server included.
  const cycles: number[] = [];
  const perRefreshRequests: number[] = [];
  const perRefreshBytes: number[] = [];
  const refreshOnce = async () => {
    const before = await drawsOf(page);
    const r0 = requests;
    const b0 = bytes;
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Refresh now' }).click();
    await page.waitForFunction((prior) => [...document.querySelectorAll('section[data-draws]')].every((s, i) => Number(s.getAttribute('data-draws')) > prior[i]!), before, { timeout: 30_000 });
    cycles.push(Date.now() - t0);
    await page.waitForTimeout(50);
    perRefreshRequests.push(requests - r0);
    perRefreshBytes.push(bytes - b0);
  };
  for (let k = 0; k < REFRESHES; k++) await refreshOnce();
  figure('refresh_cycle_median_ms', pct(cycles, 50));
  figure('refresh_cycle_p95_ms', pct(cycles, 95));
  figure('query_requests_per_refresh_max', Math.max(...perRefreshRequests));
  figure('query_bytes_per_refresh_median_kb', pct(perRefreshBytes, 50) / 1024);
  const flicker = await page.evaluate(() => (window as unknown as { flicker: { removedCanvas: number; notPainted: number } }).flicker);
  figure('canvases_removed_over_refreshes', flicker.removedCanvas);
  figure('panels_leaving_painted_over_refreshes', flicker.notPainted);

  // User action to UI update: the theme toggle, measured inside the page.
  const actions: number[] = [];
  for (let k = 0; k < 20; k++) {
    actions.push(
      await page.evaluate(
        () =>
          new Promise<number>((done) => {
            const before = document.documentElement.dataset.theme;
            const button = document.querySelector<HTMLButtonElement>('button[aria-label^="Switch to"]')!;
            const t0 = performance.now();
            button.click();
            const check = () => (document.documentElement.dataset.theme !== before ? requestAnimationFrame(() => done(performance.now() - t0)) : requestAnimationFrame(check));
            check();
          }),
      ),
    );
  }
  figure('theme_toggle_to_frame_p95_ms', pct(actions, 95));

  // Heap: after 10 refreshes and after HEAP_REFRESHES.
  await cdp.send('HeapProfiler.enable');
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const m = await cdp.send('Performance.getMetrics');
    return m.metrics.find((x) => x.name === 'JSHeapUsedSize')!.value;
  };
  await cdp.send('Performance.enable');
  const early = await heap();
  for (let k = 0; k < HEAP_REFRESHES; k++) await refreshOnce();
  const late = await heap();
  figure('heap_after_10_refreshes_mb', early / 1048576);
  figure(`heap_after_${HEAP_REFRESHES + REFRESHES + 10}_refreshes_mb`, late / 1048576);
  figure('heap_growth_percent', ((late - early) / early) * 100);
  expect(flicker.removedCanvas).toBe(0);
});
