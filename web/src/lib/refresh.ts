// Refresh intervals as the picker names them.
export const REFRESH_MS: Record<string, number> = {
  off: 0,
  '5s': 5_000,
  '10s': 10_000,
  '30s': 30_000,
  '1m': 60_000,
  '5m': 300_000,
};
