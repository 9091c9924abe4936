// Value formatting for axes, legends, stat and gauge. Pure: unit-tested.

export const UNITS = ['short', 'percent', 'bytes', 'bits/s', 'ms', 's', 'ops/s', 'none'] as const;
export type Unit = (typeof UNITS)[number];

function trim(n: number, digits: number): string {
  // At most `digits` decimals, without trailing zeros ("1.50" -> "1.5").
  return Number(n.toFixed(digits)).toString();
}

function scaled(value: number, base: number, suffixes: string[], digits = 1): string {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= base && i < suffixes.length - 1) {
    v /= base;
    i += 1;
  }
  return `${trim(v, i === 0 && Number.isInteger(v) ? 0 : digits)}${suffixes[i]}`;
}

function duration(valueMs: number): string {
  const abs = Math.abs(valueMs);
  if (abs < 1) return `${trim(valueMs * 1000, 1)} µs`;
  if (abs < 1000) return `${trim(valueMs, 1)} ms`;
  if (abs < 60_000) return `${trim(valueMs / 1000, 2)} s`;
  if (abs < 3_600_000) return `${trim(valueMs / 60_000, 1)} min`;
  if (abs < 86_400_000) return `${trim(valueMs / 3_600_000, 1)} h`;
  return `${trim(valueMs / 86_400_000, 1)} d`;
}

export function formatValue(value: number | null | undefined, unit: string | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  switch (unit) {
    case 'percent':
      return `${trim(value, Math.abs(value) < 10 ? 2 : 1)}%`;
    case 'bytes':
      return scaled(value, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB']);
    case 'bits/s':
      return scaled(value, 1000, [' b/s', ' kb/s', ' Mb/s', ' Gb/s', ' Tb/s']);
    case 'ms':
      return duration(value);
    case 's':
      return duration(value * 1000);
    case 'ops/s':
      return `${scaled(value, 1000, ['', 'K', 'M', 'B', 'T'])} ops/s`;
    case 'none':
      return trim(value, 3);
    case 'short':
    default:
      return scaled(value, 1000, ['', 'K', 'M', 'B', 'T'], Math.abs(value) < 1000 ? 2 : 1);
  }
}
