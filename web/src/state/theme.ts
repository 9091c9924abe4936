// Dark or light: follows the system until the user picks one.
import { create } from 'zustand';

export type Theme = 'dark' | 'light';
const KEY = 'vigil.theme';

const system = (): Theme => (window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

function apply(theme: Theme) {
  document.documentElement.dataset.theme = theme;
}

interface ThemeState {
  theme: Theme;
  toggle: () => void;
}

export const useTheme = create<ThemeState>((set, get) => {
  const stored = localStorage.getItem(KEY);
  const theme: Theme = stored === 'dark' || stored === 'light' ? stored : system();
  apply(theme);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (!localStorage.getItem(KEY)) {
      apply(system());
      set({ theme: system() });
    }
  });
  return {
    theme,
    toggle: () => {
      const next: Theme = get().theme === 'dark' ? 'light' : 'dark';
      localStorage.setItem(KEY, next);
      apply(next);
      set({ theme: next });
    },
  };
});
