// The time range picker (presets, `now-6h` expressions, absolute from/to with the
// browser's calendar), zoom-out and shift, the time zone toggle and the refresh picker.
import { useEffect, useRef, useState } from 'react';
import { PRESETS, describeRange, formatTime, parseTime, parseWall, zoneLabel, type TimeZone, TimeParseError } from '../lib/timerange';
import { REFRESH_MS } from '../lib/refresh';

function usePopover() {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => ref.current && !ref.current.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);
  return { open, setOpen, ref };
}

/** `datetime-local` value for an epoch ms in the zone. */
function toLocalInput(ms: number, tz: TimeZone): string {
  return formatTime(ms, tz).replace(' ', 'T').slice(0, 16);
}

function fromLocalInput(text: string, tz: TimeZone): number {
  return parseWall(text, tz);
}

interface RangeProps {
  from: string;
  to: string;
  tz: TimeZone;
  onChange: (from: string, to: string) => void;
  error?: string | null;
}

export function TimeRangePicker({ from, to, tz, onChange, error }: RangeProps) {
  const { open, setOpen, ref } = usePopover();
  const [fromText, setFromText] = useState(from);
  const [toText, setToText] = useState(to);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setFromText(from);
    setToText(to);
  }, [from, to, open]);

  const apply = (f: string, t: string) => {
    try {
      const now = Date.now();
      if (!(parseTime(f, now, tz) < parseTime(t, now, tz, true))) throw new TimeParseError('"From" must be before "To"');
      setProblem(null);
      onChange(f.trim(), t.trim());
      setOpen(false);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };

  const absolute = (text: string, which: 'from' | 'to') => {
    const ms = fromLocalInput(text, tz);
    if (Number.isNaN(ms)) return;
    if (which === 'from') setFromText(String(ms));
    else setToText(String(ms));
  };

  const asMs = (e: string, up: boolean) => {
    try {
      return parseTime(e, Date.now(), tz, up);
    } catch {
      return Date.now();
    }
  };

  return (
    <div className="relative" ref={ref}>
      <button type="button" aria-label="Time range" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="time-range-button">
        {describeRange(from, to, tz)} <span className="muted">({zoneLabel(tz)})</span>
      </button>
      {error && <span className="field-error"> {error}</span>}
      {open && (
        <div className="popover timepicker" role="dialog" aria-label="Choose a time range">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              apply(fromText, toText);
            }}
          >
            <label>
              From
              <input value={fromText} onChange={(e) => setFromText(e.target.value)} placeholder="now-6h" />
            </label>
            <label>
              From (calendar, {zoneLabel(tz)})
              <input type="datetime-local" value={toLocalInput(asMs(fromText, false), tz)} onChange={(e) => absolute(e.target.value, 'from')} />
            </label>
            <label>
              To
              <input value={toText} onChange={(e) => setToText(e.target.value)} placeholder="now" />
            </label>
            <label>
              To (calendar, {zoneLabel(tz)})
              <input type="datetime-local" value={toLocalInput(asMs(toText, true), tz)} onChange={(e) => absolute(e.target.value, 'to')} />
            </label>
            {problem && <p className="field-error">{problem}</p>}
            <button type="submit" className="primary">
              Apply time range
            </button>
          </form>
          <ul role="listbox" aria-label="Relative ranges">
            {PRESETS.map((p) => (
              <li key={p.from}>
                <button type="button" role="option" aria-selected={from === p.from && to === 'now'} onClick={() => apply(p.from, 'now')}>
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export function RefreshPicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { open, setOpen, ref } = usePopover();
  return (
    <div className="relative" ref={ref}>
      <button type="button" aria-label="Refresh interval" aria-expanded={open} onClick={() => setOpen(!open)}>
        ⟳ {value === 'off' ? 'Off' : value}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label="Choose a refresh interval">
          <ul role="listbox" aria-label="Refresh intervals">
            {Object.keys(REFRESH_MS).map((v) => (
              <li key={v}>
                <button
                  type="button"
                  role="option"
                  aria-selected={v === value}
                  onClick={() => {
                    onChange(v);
                    setOpen(false);
                  }}
                >
                  {v === 'off' ? 'Off' : v}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
