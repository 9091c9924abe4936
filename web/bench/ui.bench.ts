// Figures for docs/benchmarks-ui.md: a dashboard of 12 panels over 24 h, 3 series each
// (1-minute points), and one of a single panel averaging 1,000 series over 24 h, against
// the real binary. Prints one `figure: name value` line each.
//
// With BENCH_BASELINE_UI_DIR (a copy of an older web/dist), a second server with the
// same data serves that build, and the 12-panel figures are measured for both builds
// in the same run, their runs interleaved, so the machine's load falls on both alike;
// the baseline's figures carry a `baseline_` prefix and each pair a `ratio_` line.
import { test, expect, type Browser, type Page, type CDPSession } from '@playwright/test';
import { Api, dropDatabase, startVigil, stopVigil, type Started } from '../e2e/server';
import { login } from '../e2e/fixtures';

const PANELS = 12;
const HOSTS = ['a', 'b', 'c'];
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 30);
// The heap is compared after 10 refreshes and after REFRESHES + HEAP_REFRESHES (360).
const HEAP_REFRESHES = Number(process.env.BENCH_HEAP_REFRESHES ?? 330);
const WIDE_SERIES = Number(process.env.BENCH_WIDE_SERIES ?? 1000);
const WIDE_METRIC = 'bench.wide';
const BASELINE_UI_DIR = process.env.BENCH_BASELINE_UI_DIR ?? '';
const MINUTE = 60_000;

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

/** 1,000 series (`host` h0…h999) over 24 h at 1-minute points, waited for until stored. */
async function seedWide(api: Api): Promise<string> {
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  const chunk = 50_000 / 1440 | 0; // hosts per request within the per-request point cap
  for (let h0 = 0; h0 < WIDE_SERIES; h0 += chunk) {
    const points = [];
    for (let h = h0; h < Math.min(WIDE_SERIES, h0 + chunk); h++)
      for (let m = 0; m < 1440; m++) points.push({ name: WIDE_METRIC, value: (h % 100) + Math.cos(m / 45), timestamp: now - m * MINUTE, tags: { host: `h${h}` } });
    await api.call('POST', '/api/v1/metrics', points);
  }
  const total = WIDE_SERIES * 1440;
  const deadline = Date.now() + 10 * MINUTE;
  for (;;) {
    // Right after ingest this count reads 1.44 M raw points and may hit the server's
    // query timeout (a 503); that is waited out like a count that is still short.
    let count = -1;
    try {
      const r = await api.call<{ data: { value: number }[] }>('POST', '/api/v1/query', { query: WIDE_METRIC, aggregation: 'count', start: now - 1441 * MINUTE, end: now + MINUTE, step: '1d' });
      count = r.data.reduce((a, p) => a + p.value, 0);
    } catch (e) {
      if (!/: 503 /.test(String(e))) throw e;
    }
    if (count >= total) break;
    if (Date.now() > deadline) throw new Error(`wide seed not stored after 10 min (${count} of ${total})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // A warm server: right after ingest the range is read from raw points while the
  // rollups catch up; wait until a full-window query answers.
  for (;;) {
    const end = Date.now();
    try {
      await api.call('POST', '/api/v1/query', { query: WIDE_METRIC, aggregation: 'avg', start: end - 1440 * MINUTE, end, step: '1m' });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  // Settled, too: right after the ingest the compactor is still turning the closed hours
  // of 1.44 M raw points into blocks (minutes), and an answer the query cache does not
  // hold reads ~400k raw rows meanwhile (2-3 s in the 2026-12-03 06:49 run). Wait until
  // /health reports no range waiting for compaction.
  // If it does not settle within 12 minutes the wide dashboard is measured anyway, and
  // the line below says so.
  const waitFrom = Date.now();
  let compaction: unknown;
  for (;;) {
    const health = (await (await fetch(`${api.url}/health`)).json()) as { compaction?: { pending?: number } };
    compaction = health.compaction;
    if (health.compaction?.pending === 0 || Date.now() - waitFrom > 12 * MINUTE) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.log(`waterfall: wide seed: waited ${((Date.now() - waitFrom) / 1000).toFixed(0)} s for compaction, now ${JSON.stringify(compaction)}`);
  const panels = [{ title: 'Average of 1000 hosts', type: 'line', query: { query: WIDE_METRIC, aggregation: 'avg' }, options: {}, position: { x: 0, y: 0, w: 24, h: 10 } }];
  return (await api.call<{ data: { id: string } }>('POST', '/api/v1/dashboards', { name: 'Bench wide', panels })).data.id;
}

const allPainted = (page: Page, n: number) =>
  page.waitForFunction((count) => document.querySelectorAll('section[data-state="painted"]').length === count, n, { timeout: 30_000 });

const contextOptions = (url: string) => ({ baseURL: url, timezoneId: 'UTC', viewport: { width: 1600, height: 1000 } });

/** One navigation to every panel painted, cold browser cache (a new context), warm server. */
async function navigateOnce(browser: Browser, url: string, target: string, panels: number, waterfall: string | null, label = ''): Promise<number> {
  const context = await browser.newContext(contextOptions(url));
  const page = await context.newPage();
  await login(page, 'admin@e2e.test', 'e2e-admin-password');
  await page.goto('about:blank');
  // The answers' meta (tiers, cache) for the per-run line below.
  const metas: string[] = [];
  page.on('response', (r) => {
    if (!r.url().includes('/api/v1/query/batch')) return;
    r.json()
      .then((body: { data?: { meta?: Record<string, unknown> }[] }) => {
        const meta = body.data?.[0]?.meta ?? {};
        metas.push(`${body.data?.length ?? 0} answers, first ${JSON.stringify({ tiers: meta.tiers, table: meta.table, cached: meta.cached, note: meta.note })}`);
      })
      .catch(() => undefined);
  });
  // BENCH_TRACE=file.json writes a Chrome trace of the last navigation (for looking
  // into where the time goes; not a figure).
  const trace = waterfall !== null && process.env.BENCH_TRACE ? `${process.env.BENCH_TRACE.replace(/\.json$/, '')}-${waterfall || 'current'}.json` : null;
  if (trace) await browser.startTracing(page, { path: trace, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink.user_timing'] });
  await page.goto(target);
  await allPainted(page, panels);
  if (trace) await browser.stopTracing();
  // Measured in the page: the first `painted` mark of the last panel to paint (the
  // round trip of asking the page is left out).
  const t = await page.evaluate(() => {
    const first = new Map<string, number>();
    for (const m of performance.getEntriesByType('mark')) {
      if (m.name.startsWith('panel:painted:') && !first.has(m.name)) first.set(m.name, m.startTime);
    }
    return Math.max(...first.values());
  });
  // Each run on its own line, with its query's time: a slow run is then seen to be the
  // server's answer or the page's own work.
  const batch = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/v1/query'))
      .map((e) => `${e.startTime.toFixed(0)}-${(e as PerformanceResourceTiming).responseEnd.toFixed(0)}`)
      .join(', '),
  );
  if (label) console.log(`waterfall: ${label} painted at ${t.toFixed(0)} ms; query ${batch} ms; ${metas.join('; ')}`);
  if (waterfall !== null) {
    // Where the navigation's time went: each script and API request, start to end.
    const entries = await page.evaluate(() =>
      [performance.getEntriesByType('navigation')[0]!, ...performance.getEntriesByType('resource')].map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, end: (e as PerformanceResourceTiming).responseEnd })),
    );
    for (const e of entries) console.log(`waterfall: ${waterfall}${e.name} ${e.start.toFixed(0)}-${e.end.toFixed(0)} ms (painted at ${t.toFixed(0)})`);
  }
  await context.close();
  return t;
}

interface Variant {
  prefix: string;
  url: string;
  target: string;
}

/** RUNS navigations of each variant, interleaved (the order alternates per run). */
async function navigations(browser: Browser, variants: Variant[], panels: number): Promise<Map<string, number[]>> {
  const navs = new Map(variants.map((v) => [v.prefix, [] as number[]]));
  for (let run = 0; run < RUNS + 1; run++) {
    const order = run % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const t = await navigateOnce(browser, v.url, v.target, panels, run === RUNS ? v.prefix : null, `${v.prefix || 'current_'}run ${run}${run === 0 ? ' (warm-up, not counted)' : ''}`);
      if (run > 0) navs.get(v.prefix)!.push(t); // the first run warms the server's caches
    }
  }
  for (const v of variants) {
    figure(`${v.prefix}navigation_to_painted_median_ms`, pct(navs.get(v.prefix)!, 50));
    figure(`${v.prefix}navigation_to_painted_p95_ms`, pct(navs.get(v.prefix)!, 95));
  }
  return navs;
}

/** An open dashboard whose query requests and bytes are counted through CDP. */
async function openCounted(browser: Browser, url: string, target: string, panels: number) {
  const context = await browser.newContext(contextOptions(url));
  const page = await context.newPage();
  await login(page, 'admin@e2e.test', 'e2e-admin-password');
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const queryRequests = new Set<string>();
  const counted = { bytes: 0, requests: 0 };
  cdp.on('Network.requestWillBeSent', (e) => {
    if (/\/api\/v1\/query/.test(e.request.url)) {
      queryRequests.add(e.requestId);
      counted.requests++;
    }
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (queryRequests.has(e.requestId)) counted.bytes += e.encodedDataLength;
  });
  await page.goto(target);
  await allPainted(page, panels);
  const cycles: number[] = [];
  const inPage: number[] = [];
  const perRefreshRequests: number[] = [];
  const perRefreshBytes: number[] = [];
  // Click to every panel redrawn with the new answer, server included: each panel's
  // first `panel:painted` mark after the query answer has arrived (resource timing).
  const server: number[] = [];
  const refreshOnce = async () => {
    const r0 = counted.requests;
    const b0 = counted.bytes;
    await page.evaluate(() => {
      performance.clearMarks();
      performance.clearResourceTimings();
    });
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Refresh now' }).click();
    const handle = await page.waitForFunction(
      (n) => {
        const start = performance.getEntriesByName('refresh:start')[0];
        if (!start) return null;
        const answers = performance.getEntriesByType('resource').filter((e) => /\/api\/v1\/query/.test(e.name) && e.startTime >= start.startTime) as PerformanceResourceTiming[];
        if (answers.length === 0) return null;
        const answered = Math.max(...answers.map((e) => e.responseEnd));
        const first = new Map<string, number>();
        for (const m of performance.getEntriesByType('mark')) {
          if (m.startTime >= answered && m.name.startsWith('panel:painted:') && !first.has(m.name)) first.set(m.name, m.startTime);
        }
        if (first.size < n) return null;
        return { inPage: Math.max(...first.values()) - start.startTime, server: answered - start.startTime };
      },
      panels,
      { timeout: 30_000 },
    );
    cycles.push(Date.now() - t0);
    const m = (await handle.jsonValue())!;
    inPage.push(m.inPage);
    server.push(m.server);
    await page.waitForTimeout(50);
    perRefreshRequests.push(counted.requests - r0);
    perRefreshBytes.push(counted.bytes - b0);
  };
  const report = (prefix: string) => {
    figure(`${prefix}refresh_cycle_median_ms`, pct(cycles, 50));
    figure(`${prefix}refresh_cycle_p95_ms`, pct(cycles, 95));
    figure(`${prefix}refresh_in_page_median_ms`, pct(inPage, 50));
    figure(`${prefix}refresh_in_page_p95_ms`, pct(inPage, 95));
    figure(`${prefix}refresh_query_answered_median_ms`, pct(server, 50));
    figure(`${prefix}query_requests_per_refresh_max`, Math.max(...perRefreshRequests));
    figure(`${prefix}query_bytes_per_refresh_median_kb`, pct(perRefreshBytes, 50) / 1024);
    figure(`${prefix}query_bytes_per_refresh_max_kb`, Math.max(...perRefreshBytes) / 1024);
  };
  return { context, page, cdp, refreshOnce, report, cycles, inPage };
}

/** A server with the 12-panel data that serves an older build from disk. */
async function startBaseline(): Promise<{ started: Started; url: string; id: string }> {
  const started = await startVigil({ VIGIL__HTTP__UI_DIR: BASELINE_UI_DIR, VIGIL__INGEST__FLUSH_INTERVAL: '100ms' });
  const id = await seed(await Api.login(started.url));
  return { started, url: started.url, id };
}

const ratio = (name: string, candidate: number[], baseline: number[], p: number) => figure(`ratio_${name}`, (pct(candidate, p) / pct(baseline, p)).toFixed(2));

/** The theme toggle, measured inside the page: click to the next animation frame. */
const themeToggle = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<number>((done) => {
        const before = document.documentElement.dataset.theme;
        const button = document.querySelector<HTMLButtonElement>('button[aria-label^="Switch to"]')!;
        const t0 = performance.now();
        button.click();
        const check = () => (document.documentElement.dataset.theme !== before ? requestAnimationFrame(() => done(performance.now() - t0)) : requestAnimationFrame(check));
        check();
      }),
  );

test('ui figures', async ({ browser }) => {
  const url = process.env.VIGIL_E2E_URL!;
  const api = await Api.login(url);
  const id = await seed(api);
  const target = `${url}/d/${id}?from=now-24h&to=now&refresh=off`;
  const baseline = BASELINE_UI_DIR ? await startBaseline() : null;
  try {
    const variants: Variant[] = [{ prefix: '', url, target }];
    if (baseline) variants.push({ prefix: 'baseline_', url: baseline.url, target: `${baseline.url}/d/${baseline.id}?from=now-24h&to=now&refresh=off` });
    const navs = await navigations(browser, variants, PANELS);
    if (baseline) {
      ratio('navigation_median', navs.get('')!, navs.get('baseline_')!, 50);
      ratio('navigation_p95', navs.get('')!, navs.get('baseline_')!, 95);
      // Refresh cycles and theme toggles of both builds, alternating one by one.
      const mine = await openCounted(browser, url, target, PANELS);
      const base = await openCounted(browser, baseline.url, variants[1]!.target, PANELS);
      for (let k = 0; k < REFRESHES; k++) {
        for (const side of k % 2 === 0 ? [mine, base] : [base, mine]) await side.refreshOnce();
      }
      mine.report('ab_');
      base.report('baseline_');
      ratio('refresh_cycle_median', mine.cycles, base.cycles, 50);
      ratio('refresh_cycle_p95', mine.cycles, base.cycles, 95);
      ratio('refresh_in_page_median', mine.inPage, base.inPage, 50);
      ratio('refresh_in_page_p95', mine.inPage, base.inPage, 95);
      const themes = { mine: [] as number[], base: [] as number[] };
      for (let k = 0; k < 20; k++) {
        themes.mine.push(await themeToggle(mine.page));
        themes.base.push(await themeToggle(base.page));
      }
      figure('ab_theme_toggle_to_frame_median_ms', pct(themes.mine, 50));
      figure('ab_theme_toggle_to_frame_p95_ms', pct(themes.mine, 95));
      figure('baseline_theme_toggle_to_frame_median_ms', pct(themes.base, 50));
      figure('baseline_theme_toggle_to_frame_p95_ms', pct(themes.base, 95));
      ratio('theme_toggle_p95', themes.mine, themes.base, 95);
      await mine.context.close();
      await base.context.close();
    }
  } finally {
    if (baseline) {
      await stopVigil(baseline.started.child);
      await dropDatabase(baseline.started.database);
    }
  }

  const { page, cdp, refreshOnce, report, context } = await openCounted(browser, url, target, PANELS);
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
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const m = await cdp.send('Performance.getMetrics');
    return m.metrics.find((x) => x.name === 'JSHeapUsedSize')!.value;
  };
  await cdp.send('HeapProfiler.enable');
  await cdp.send('Performance.enable');
  let early = 0;
  for (let k = 0; k < REFRESHES; k++) {
    await refreshOnce();
    if (k === 9) early = await heap();
  }
  report('');
  const flicker = await page.evaluate(() => (window as unknown as { flicker: { removedCanvas: number; notPainted: number } }).flicker);
  figure('canvases_removed_over_refreshes', flicker.removedCanvas);
  figure('panels_leaving_painted_over_refreshes', flicker.notPainted);

  // User action to UI update: the theme toggle, measured inside the page.
  const actions: number[] = [];
  for (let k = 0; k < 20; k++) actions.push(await themeToggle(page));
  figure('theme_toggle_to_frame_p95_ms', pct(actions, 95));

  // Heap: after 10 refreshes (above) and after HEAP_REFRESHES more.
  for (let k = 0; k < HEAP_REFRESHES; k++) await refreshOnce();
  const late = await heap();
  figure('heap_after_10_refreshes_mb', early / 1048576);
  figure(`heap_after_${HEAP_REFRESHES + REFRESHES}_refreshes_mb`, late / 1048576);
  figure('heap_growth_percent', ((late - early) / early) * 100);
  await context.close();
  expect(flicker.removedCanvas).toBe(0);

  // One panel averaging 1,000 series.
  if (WIDE_SERIES <= 0) return;
  const wideId = await seedWide(api);
  const wideTarget = `${url}/d/${wideId}?from=now-24h&to=now&refresh=off`;
  await navigations(browser, [{ prefix: 'wide_', url, target: wideTarget }], 1);
  const wide = await openCounted(browser, url, wideTarget, 1);
  for (let k = 0; k < REFRESHES; k++) await wide.refreshOnce();
  wide.report('wide_');
  await wide.context.close();
});
