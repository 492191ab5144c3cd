// Targets of tests/channel_security_test.ts.

export const MODULE: string = import.meta.url;

/** Holds what it is given (a Manager's proxy: its authkey travels with it) until it is stopped. */
export function holdForever(_held: unknown): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}
