// Drag-and-drop saves: applied at once, sent as one PUT about 500 ms after the last
// move, reverted with a toast when the server refuses, and a stale version (409)
// handed to the user as a conflict instead of overwriting anyone.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { notify } from '../state/notify';
import { api, ok, ApiError } from '../api/client';
import { keys, type Dashboard } from '../api/hooks';
import { diffLayout, normalise, type LayoutItem } from '../lib/layout';
import { clearDraft, loadDraft, storeDraft, type Draft } from './edit';

export const SAVE_DELAY_MS = 500;

export function layoutOf(d: Dashboard): LayoutItem[] {
  const stored = new Map(d.layout.map((l) => [l.i, l]));
  return normalise(d.panels.map((p) => stored.get(p.id) ?? { i: p.id, ...p.position }));
}

export interface Conflict {
  theirs: Dashboard;
  mine: LayoutItem[];
}

export function useLayoutSaver(d: Dashboard) {
  const qc = useQueryClient();
  const [layout, setLayout] = useState<LayoutItem[]>(() => layoutOf(d));
  const saved = useRef({ version: d.version, layout: layoutOf(d) });
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [draft, setDraft] = useState<Draft | null>(() => {
    const found = loadDraft(d.id);
    return found && diffLayout(layoutOf(d), found.layout).length > 0 ? found : null;
  });

  // A newer dashboard from the server (a panel added, someone else's save) replaces
  // the layout unless a change of ours is still on its way.
  useEffect(() => {
    if (d.version === saved.current.version && saved.current.layout.length === d.panels.length) return;
    if (pending.current) return;
    saved.current = { version: d.version, layout: layoutOf(d) };
    setLayout(layoutOf(d));
  }, [d]);

  const save = useCallback(
    async (next: LayoutItem[], version: number) => {
      pending.current = null;
      setSaving(true);
      try {
        const res = await ok(api.PUT('/api/v1/dashboards/{id}', { params: { path: { id: d.id } }, body: { version, layout: next } }));
        saved.current = { version: res.data.version, layout: normalise(next) };
        qc.setQueryData(keys.dashboard(d.id), res.data);
        clearDraft(d.id);
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) {
          const latest = await ok(api.GET('/api/v1/dashboards/{id}', { params: { path: { id: d.id } } }));
          setConflict({ theirs: latest.data, mine: next });
        } else if (e instanceof ApiError && e.status === 401) {
          // The draft stays in localStorage; the login page brings the user back.
        } else {
          notify.error(`The layout could not be saved (${(e as Error).message}); it was reverted.`);
          setLayout(saved.current.layout);
          clearDraft(d.id);
        }
      } finally {
        setSaving(false);
      }
    },
    [d.id, qc],
  );

  const change = useCallback(
    (next: LayoutItem[]) => {
      const clean = normalise(next);
      setLayout((current) => (diffLayout(current, clean).length === 0 ? current : clean));
      if (diffLayout(saved.current.layout, clean).length === 0 && !pending.current) return;
      storeDraft({ dashboardId: d.id, baseVersion: saved.current.version, layout: clean, savedAt: Date.now() });
      if (pending.current) clearTimeout(pending.current);
      pending.current = setTimeout(() => void save(clean, saved.current.version), SAVE_DELAY_MS);
    },
    [d.id, save],
  );

  const flush = useCallback(() => {
    if (!pending.current) return;
    clearTimeout(pending.current);
    pending.current = null;
    const draftNow = loadDraft(d.id);
    if (draftNow) void save(draftNow.layout, saved.current.version);
  }, [d.id, save]);

  useEffect(() => () => {
    if (pending.current) clearTimeout(pending.current);
  }, []);

  const keepMine = useCallback(() => {
    if (!conflict) return;
    saved.current = { version: conflict.theirs.version, layout: layoutOf(conflict.theirs) };
    qc.setQueryData(keys.dashboard(d.id), conflict.theirs);
    const mine = conflict.mine.filter((m) => conflict.theirs.panels.some((p) => p.id === m.i));
    setConflict(null);
    setLayout(mine);
    void save(mine, conflict.theirs.version);
  }, [conflict, d.id, qc, save]);

  const takeTheirs = useCallback(() => {
    if (!conflict) return;
    saved.current = { version: conflict.theirs.version, layout: layoutOf(conflict.theirs) };
    qc.setQueryData(keys.dashboard(d.id), conflict.theirs);
    setLayout(layoutOf(conflict.theirs));
    clearDraft(d.id);
    setConflict(null);
  }, [conflict, d.id, qc]);

  const restoreDraft = useCallback(() => {
    if (!draft) return;
    setDraft(null);
    change(draft.layout);
  }, [draft, change]);

  const discardDraft = useCallback(() => {
    clearDraft(d.id);
    setDraft(null);
  }, [d.id]);

  return { layout, change, flush, saving, conflict, keepMine, takeTheirs, draft, restoreDraft, discardDraft };
}
