// The refresh clock of a view: one absolute range per tick, shared by every panel,
// advanced every interval while the tab is visible.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { resolveRange, type AbsoluteRange, type TimeZone, TimeParseError } from '../lib/timerange';
import { openingRange } from './opening';

export interface Tick {
  range: AbsoluteRange | null;
  error: string | null;
  seq: number;
  /** Recompute now (the refresh button, a tab coming back). */
  refresh: () => void;
}

export function useTick(from: string, to: string, tz: TimeZone, intervalMs: number): Tick {
  const compute = useCallback((): { range: AbsoluteRange | null; error: string | null } => {
    try {
      return { range: resolveRange(from, to, Date.now(), tz), error: null };
    } catch (e) {
      return { range: null, error: e instanceof TimeParseError ? e.message : String(e) };
    }
  }, [from, to, tz]);
  // The first tick takes the range of the answer already asked for while the page
  // loaded (state/opening.ts), so that answer is the one it waits for.
  const [state, setState] = useState(() => {
    const opened = openingRange(from, to, tz);
    return { ...(opened ? { range: opened, error: null } : compute()), seq: 0 };
  });
  const last = useRef(Date.now());

  const refresh = useCallback(() => {
    last.current = Date.now();
    performance.mark('refresh:start');
    setState((s) => ({ ...compute(), seq: s.seq + 1 }));
  }, [compute]);

  // A new range or zone applies at once.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    refresh();
  }, [refresh]);

  useEffect(() => {
    if (intervalMs <= 0) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'hidden') return;
      refresh();
    }, intervalMs);
    const onVisible = () => {
      if (document.visibilityState === 'visible' && Date.now() - last.current >= intervalMs) refresh();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [intervalMs, refresh]);

  return useMemo(() => ({ ...state, refresh }), [state, refresh]);
}
