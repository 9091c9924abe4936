import { dropDatabase, stopVigil, type Started } from './server';

export default async function globalTeardown() {
  const started = (globalThis as { vigil?: Started }).vigil;
  if (!started) return;
  await stopVigil(started.child);
  await dropDatabase(started.database);
}
