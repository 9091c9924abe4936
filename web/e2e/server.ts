// Starts the real vigil binary on port 0 against the local services with a fresh
// database, queue names and Redis prefix, and stops it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const ADMIN = { email: 'admin@e2e.test', password: 'e2e-admin-password' };
export const VIEWER = { email: 'viewer@e2e.test', password: 'e2e-viewer-password' };

export interface Started {
  url: string;
  child: ChildProcess;
  database: string;
}

export function vigilBinary(): string {
  const root = resolve(import.meta.dirname, '../..');
  const target = process.env.CARGO_TARGET_DIR ?? resolve(root, 'target');
  const bin = process.env.VIGIL_BIN ?? resolve(target, 'release/vigil');
  if (!existsSync(bin)) throw new Error(`no vigil binary at ${bin}: build it with cargo build --release (scripts/test.sh does)`);
  return bin;
}

export async function startVigil(extraEnv: Record<string, string> = {}): Promise<Started> {
  const id = randomBytes(6).toString('hex');
  const database = `vigil_e2e_${id}`;
  const env = {
    ...process.env,
    NO_COLOR: '1',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    VIGIL__HTTP__ADDR: '127.0.0.1:0',
    VIGIL__DATABASE__URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    VIGIL__AMQP__INGEST_QUEUE: `e2e.${id}.ingest`,
    VIGIL__AMQP__DEAD_LETTER_QUEUE: `e2e.${id}.dlq`,
    VIGIL__AMQP__DEAD_LETTER_EXCHANGE: `e2e.${id}.dlx`,
    VIGIL__REDIS__KEY_PREFIX: `vigil-e2e:${id}:`,
    VIGIL__AUTH__ADMIN_EMAIL: ADMIN.email,
    VIGIL__AUTH__ADMIN_PASSWORD: ADMIN.password,
    VIGIL__ALERTS__EVALUATION_INTERVAL: '2s',
    VIGIL__NOTIFY__ALLOW_PRIVATE_TARGETS: 'true',
    VIGIL__INGEST__FLUSH_INTERVAL: '100ms',
    ...extraEnv,
  };
  const child = spawn(vigilBinary(), ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((ok, fail) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`vigil did not start within 60 s:\n${log}`)), 60_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      // eslint-disable-next-line no-control-regex
      const m = /listening.*?port=(\d+)/.exec(log.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) {
        clearTimeout(timer);
        ok(`http://127.0.0.1:${m[1]}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => fail(new Error(`vigil exited with ${code}:\n${log}`)));
  });
  return { url, child, database };
}

export async function stopVigil(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r(null);
    }, 15_000);
    child.on('exit', () => (clearTimeout(t), r(null)));
  });
}

/** Drops the test database (and so everything the run stored). */
export async function dropDatabase(database: string) {
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`], { stdio: 'ignore' });
  } catch {
    // psql missing or the server gone: the next run's database has another name anyway.
  }
}

/** A small client for seeding through the public API as a bearer-token admin. */
export class Api {
  constructor(
    public url: string,
    private cookie = '',
  ) {}

  static async login(url: string, who = ADMIN): Promise<Api> {
    const r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(who) });
    if (!r.ok) throw new Error(`login ${r.status}: ${await r.text()}`);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    return new Api(url, cookie);
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Cookie: this.cookie, Origin: this.url },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}
