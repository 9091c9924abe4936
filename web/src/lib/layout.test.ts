import { describe, expect, it } from 'vitest';
import { describeChange, diffLayout } from './layout';

const a = { i: 'a', x: 0, y: 0, w: 12, h: 8 };
const b = { i: 'b', x: 12, y: 0, w: 12, h: 8 };

describe('diffLayout', () => {
  it('is empty for the same layout in any order', () => {
    expect(diffLayout([a, b], [b, { ...a }])).toEqual([]);
  });
  it('reports moves, resizes, additions and removals', () => {
    const moved = { ...a, y: 8 };
    const c = { i: 'c', x: 0, y: 16, w: 6, h: 4 };
    const changes = diffLayout([a, b], [moved, c]);
    expect(changes).toEqual([
      { i: 'a', before: a, after: moved },
      { i: 'c', after: c },
      { i: 'b', before: b },
    ]);
    const title = (id: string) => `Panel ${id}`;
    expect(changes.map((ch) => describeChange(ch, title))).toEqual([
      'Panel a moved from (0, 0) to (0, 8)',
      'Panel c added',
      'Panel b removed',
    ]);
    expect(describeChange({ i: 'b', before: b, after: { ...b, w: 6 } }, title)).toBe('Panel b resized from 12×8 to 6×8');
  });
});
