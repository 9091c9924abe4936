// One big number coloured by thresholds, with a sparkline of the series behind it.
import { formatValue } from '../lib/units';
import { thresholdColor, type Threshold } from '../lib/series';

interface Props {
  value: number | null;
  values: number[];
  unit?: string;
  thresholds?: Threshold[];
  color?: string;
}

export function Stat({ value, values, unit, thresholds, color }: Props) {
  const fill = thresholdColor(value, thresholds, color ?? 'var(--fg)');
  const finite = values.filter(Number.isFinite);
  let spark = '';
  if (finite.length > 1) {
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    spark = finite
      .map((v, k) => `${((k / (finite.length - 1)) * 100).toFixed(2)},${(40 - ((v - lo) / (hi - lo || 1)) * 36 - 2).toFixed(2)}`)
      .join(' ');
  }
  return (
    <div className="stat">
      {spark && (
        <svg className="spark" viewBox="0 0 100 40" preserveAspectRatio="none" aria-hidden="true">
          <polyline points={spark} fill="none" stroke={fill} strokeOpacity="0.35" strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
        </svg>
      )}
      <span className="stat-value" style={{ color: fill }} data-testid="value">
        {formatValue(value, unit)}
      </span>
    </div>
  );
}
