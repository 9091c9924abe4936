// The one HTTP client: openapi-fetch typed by the server's own OpenAPI document
// (schema.d.ts, generated), errors turned into ApiError with the server's words.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public details: unknown = null,
  ) {
    super(message);
  }

  /** The server's per-field problems, keyed by field path (`query.metric`, `name`…). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    const list = Array.isArray(this.details)
      ? this.details
      : (this.details as { fields?: unknown; problems?: unknown } | null)?.fields ??
        (this.details as { problems?: unknown } | null)?.problems;
    if (Array.isArray(list)) {
      for (const p of list as { field?: string; reason?: string }[]) {
        if (p.field) out[p.field] = p.reason ?? 'invalid';
      }
    } else if (this.details && typeof this.details === 'object' && 'field' in this.details) {
      const d = this.details as { field: string; reason?: string };
      out[d.field] = d.reason ?? this.message;
    }
    return out;
  }
}

let onUnauthorized: (() => void) | null = null;
/** Called on a 401 from anything but the login and session probes. */
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

api.use({
  onResponse({ request, response }) {
    if (response.status === 401 && !/\/auth\/(login|me)$/.test(new URL(request.url).pathname)) {
      onUnauthorized?.();
    }
    return undefined;
  },
});

export async function errorOf(response: Response, body: unknown): Promise<ApiError> {
  const e = (body ?? {}) as { error?: string; code?: string; details?: unknown };
  return new ApiError(
    response.status,
    e.code ?? `HTTP_${response.status}`,
    e.error ?? `${response.status} ${response.statusText || 'request failed'}`,
    e.details ?? null,
  );
}

/** Unwraps an openapi-fetch answer to its `data`, or throws the server's error. */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', `The server could not be reached: ${(e as Error).message}`);
  }
  if (result.error !== undefined || !result.response.ok) throw await errorOf(result.response, result.error);
  return result.data as T;
}
