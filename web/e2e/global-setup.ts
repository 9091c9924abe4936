import { Api, VIEWER, startVigil } from './server';
import { CPU, cpuPoints } from './seed';

export default async function globalSetup() {
  const started = await startVigil();
  (globalThis as { vigil?: unknown }).vigil = started;
  const api = await Api.login(started.url);
  await api.call('POST', '/api/v1/users', { ...VIEWER, role: 'viewer' });
  const now = Date.now();
  const ingest = await api.call<{ accepted: number; rejected: number }>('POST', '/api/v1/metrics', cpuPoints(now));
  if (ingest.rejected !== 0) throw new Error(`seed points rejected: ${JSON.stringify(ingest)}`);
  // Wait until the seed is queryable (the writers flush every 100 ms).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await api.call<{ data: { time: string; value: number }[] }>('POST', '/api/v1/query', {
      query: CPU, aggregation: 'count', start: now - 3 * 3_600_000, end: now + 60_000, step: '1d',
    });
    const count = r.data.reduce((a, p) => a + p.value, 0);
    if (count >= cpuPoints(now).length) break;
    if (Date.now() > deadline) throw new Error(`seed not stored after 30 s (count ${count})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  process.env.VIGIL_E2E_URL = started.url;
  process.env.VIGIL_E2E_SEEDED_AT = String(now);
  // Keep the child referenced so the runner's teardown can stop it.
  (globalThis as { vigil?: unknown }).vigil = started;
}
