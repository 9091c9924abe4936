// Unsaved form edits kept across an expired session. A 401 sends the user to the login
// page, which unmounts the form; a form that registered here writes what it holds to
// sessionStorage at that moment (and only then), and is filled from it when it is
// mounted again at the same key, after the login page has brought the user back. The
// kept edits are dropped when the form is saved or cancelled, and are offered for
// KEEP_MS at most. Layout drafts of edit mode have their own store (state/edit.ts), as
// they also survive a reload.
//
// Nothing here assumes one mount per visit: while the router moves between a page and
// the login page it may mount the page once more, so reading does not consume the kept
// edits and a form with no edits of its own writes nothing.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

const PREFIX = 'vigil.kept.';
/** How long kept edits are offered back. */
export const KEEP_MS = 30 * 60_000;
let sessionLost = false;

interface Stored<T> {
  savedAt: number;
  fields: T;
}

/** The session ended under the user (a 401): forms unmounted from now on keep their edits. */
export function markSessionLost() {
  sessionLost = true;
}

/** Logged in again. */
export function markSessionBack() {
  sessionLost = false;
}

function read<T>(key: string): T | null {
  try {
    const raw = sessionStorage.getItem(PREFIX + key);
    const stored = raw ? (JSON.parse(raw) as Stored<T>) : null;
    return stored && Date.now() - stored.savedAt < KEEP_MS ? stored.fields : null;
  } catch {
    return null;
  }
}

/**
 * Whether edits are kept for `key`: a form that is not on screen by itself (a dialog)
 * opens again when it has some.
 */
export function hasKeptEdits(key: string): boolean {
  return read<unknown>(key) !== null;
}

/** The edits kept for `key` when the session expired, or null; `discard` drops them. */
export function useKeptEdits<T>(key: string): { kept: T | null; discard: () => void } {
  const [kept] = useState(() => read<T>(key));
  const discard = useCallback(() => sessionStorage.removeItem(PREFIX + key), [key]);
  return { kept, discard };
}

/** Keeps `current` under `key` if the form, changed since it was mounted, is unmounted because the session expired. */
export function useKeepOnExpiry<T>(key: string, current: T) {
  const latest = useRef(current);
  const [initial] = useState(() => JSON.stringify(current));
  useLayoutEffect(() => {
    latest.current = current;
  });
  useEffect(() => {
    const held = latest;
    return () => {
      if (!sessionLost) return;
      const fields = JSON.stringify(held.current);
      if (fields !== initial) sessionStorage.setItem(PREFIX + key, `{"savedAt":${Date.now()},"fields":${fields}}`);
    };
  }, [key, initial]);
}
