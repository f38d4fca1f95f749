/** Clock tells the time. Injected everywhere time matters so tests can move through a year. */
export interface Clock {
  now(): number;
}

/** systemClock is the real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** ManualClock is a clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const DAY_MS = 24 * 60 * 60 * 1000;
