import { describe, expect, it } from 'vitest';
import { autoStepSeconds, chooseStep, validateStep } from './step';

describe('step choice', () => {
  it('keeps about one point per pixel at a nice step', () => {
    expect(autoStepSeconds(3_600_000, 1000)).toBe(5);
    expect(autoStepSeconds(24 * 3_600_000, 1440)).toBe(60);
    expect(autoStepSeconds(24 * 3_600_000, 500)).toBe(300);
    expect(autoStepSeconds(30 * 86_400_000, 800)).toBe(3600);
    expect(autoStepSeconds(60_000, 1000)).toBe(1);
  });
  it('uses a fixed step as given', () => {
    expect(chooseStep('30s', 86_400_000, 100)).toBe('30s');
    expect(chooseStep('auto', 86_400_000, 1440)).toBe('1m');
    expect(chooseStep(undefined, 6 * 3_600_000, 720)).toBe('30s');
  });
  it('applies the server rule', () => {
    expect(validateStep('10s')).toBeNull();
    expect(validateStep('auto')).toBeNull();
    expect(validateStep('500ms')).toMatch(/whole number of seconds/);
    expect(validateStep('ten')).toMatch(/duration/);
  });
});
