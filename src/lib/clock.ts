/** The one source of "now" outside core/ (core takes now as an argument). Tests pass their own. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
