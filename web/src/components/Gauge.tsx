// A semicircular SVG gauge coloured by thresholds.
import { formatValue } from '../lib/units';
import { thresholdColor, type Threshold } from '../lib/series';

interface Props {
  value: number | null;
  min?: number | null;
  max?: number | null;
  unit?: string;
  thresholds?: Threshold[];
  color?: string;
}

export function Gauge({ value, min, max, unit, thresholds, color }: Props) {
  const lo = min ?? 0;
  const hi = max ?? 100;
  const fraction = value === null ? 0 : Math.min(1, Math.max(0, (value - lo) / (hi - lo || 1)));
  const fill = thresholdColor(value, thresholds, color ?? 'var(--ok)');
  const r = 80;
  const arc = (f: number) => {
    const a = Math.PI * (1 - f);
    return `${100 + r * Math.cos(a)} ${100 - r * Math.sin(a)}`;
  };
  return (
    <svg className="gauge" viewBox="0 0 200 120" role="img" aria-label={`gauge ${formatValue(value, unit)}`}>
      <path d={`M ${arc(0)} A ${r} ${r} 0 0 1 ${arc(1)}`} stroke="var(--track)" strokeWidth="16" fill="none" />
      {fraction > 0 && (
        <path d={`M ${arc(0)} A ${r} ${r} 0 0 1 ${arc(fraction)}`} stroke={fill} strokeWidth="16" fill="none" />
      )}
      <text x="100" y="96" textAnchor="middle" className="gauge-value" fill={fill} data-testid="value">
        {formatValue(value, unit)}
      </text>
      <text x="20" y="116" textAnchor="middle" className="gauge-bound">
        {formatValue(lo, unit)}
      </text>
      <text x="180" y="116" textAnchor="middle" className="gauge-bound">
        {formatValue(hi, unit)}
      </text>
    </svg>
  );
}
