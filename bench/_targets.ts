/** Targets for the benchmark's troupe rows. */

/** Returns at once: the cost measured is troupe's alone. */
export function empty(): void {}

/** Runs until terminated, so start() can be timed without the exit. */
export function idle(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 60_000));
}
