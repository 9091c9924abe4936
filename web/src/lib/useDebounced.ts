// A value that follows another once it has stopped changing for a while: a type-ahead
// asks the server once per pause in typing, not once per keystroke.
import { useEffect, useState } from 'react';

/** `value`, `delayMs` after its last change. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}
