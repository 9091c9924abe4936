// Edit mode of the dashboard being viewed: the layout draft, kept in localStorage
// so an unsaved change survives a reload or an expired session.
import { create } from 'zustand';
import type { LayoutItem } from '../lib/layout';

export interface Draft {
  dashboardId: string;
  baseVersion: number;
  layout: LayoutItem[];
  savedAt: number;
}

const key = (id: string) => `vigil.draft.${id}`;

export function loadDraft(id: string): Draft | null {
  try {
    const raw = localStorage.getItem(key(id));
    return raw ? (JSON.parse(raw) as Draft) : null;
  } catch {
    return null;
  }
}

export function storeDraft(draft: Draft) {
  localStorage.setItem(key(draft.dashboardId), JSON.stringify(draft));
}

export function clearDraft(id: string) {
  localStorage.removeItem(key(id));
}

interface EditState {
  editing: boolean;
  setEditing: (on: boolean) => void;
}

export const useEdit = create<EditState>((set) => ({
  editing: false,
  setEditing: (editing) => set({ editing }),
}));
