/**
 * Durations, the one place every timeout of the public API goes through.
 *
 * A duration is a number of milliseconds. `Infinity` means no limit (Python's
 * `None`), as does leaving the option out where it is optional; NaN, or
 * anything that is not a number, is a TypeError naming the option. What a
 * negative duration means stays each API's own rule (Python's: most waits
 * treat it as 0, some refuse it).
 *
 * `setTimeout` keeps a delay only up to 2^31 - 1 ms (~24.8 days): a longer one,
 * `Infinity` included, fires after 1 ms with a `TimeoutOverflowWarning`.
 * {@linkcode startTimer} never gives it one: `Infinity` starts no timer at
 * all, and a finite delay longer than that is a chain of timers, so every
 * finite duration is kept exactly.
 *
 * @module
 */

/** The longest delay `setTimeout` keeps, in ms (~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a duration argument: undefined stays undefined (the API's default),
 * any number but NaN is returned as is, `Infinity` included.
 *
 * @param value The argument.
 * @param action What the call does, for the message: "Cannot `action` as ...".
 * @param name The option's name, for the message.
 * @throws {TypeError} For NaN or a value that is not a number.
 */
export function checkDuration(value: unknown, action: string, name: string): number | undefined {
  if (value === undefined || isDuration(value)) return value;
  throw new TypeError(durationMessage(action, name, value));
}

/** Whether `value` is a duration: a number that is not NaN. */
export function isDuration(value: unknown): value is number {
  return typeof value === "number" && !Number.isNaN(value);
}

/** The message of {@linkcode checkDuration}'s TypeError. */
export function durationMessage(action: string, name: string, value: unknown): string {
  return `Cannot ${action} as ${name} ${DURATION_RULE}: current value is ${showValue(value)}`;
}

/** What a duration must be, for messages. */
export const DURATION_RULE = "must be a number of milliseconds (Infinity for no limit)";

/** A value as a message shows it: strings quoted. */
export function showValue(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "bigint"
    ? `${value}n`
    : String(value);
}

/** A timer from {@linkcode startTimer}; stop it with {@linkcode stopTimer}. */
export interface Timer {
  /** The pending `setTimeout`, if any. */
  id: ReturnType<typeof setTimeout> | undefined;
  /** Whether it keeps the program running (see `Deno.unrefTimer`). */
  readonly ref: boolean;
}

/**
 * Calls `callback` once `ms` have passed: Python's timeout, without the
 * limits of `setTimeout`. `Infinity` starts no timer (undefined is returned),
 * so a wait without limit does not keep the program running by itself; a
 * delay past {@linkcode MAX_TIMER_MS} runs as a chain of timers; 0, a
 * negative delay or NaN runs it on the next turn of the loop.
 *
 * @param callback What to run.
 * @param ms The delay in milliseconds.
 * @param ref false: the timer does not keep the program running (`Deno.unrefTimer`).
 */
export function startTimer(callback: () => void, ms: number, ref = true): Timer | undefined {
  if (ms === Infinity) return undefined;
  const timer: Timer = { id: undefined, ref };
  const due = performance.now() + ms;
  const arm = (left: number) => {
    const id = left > MAX_TIMER_MS
      ? setTimeout(() => arm(due - performance.now()), MAX_TIMER_MS)
      : setTimeout(callback, Math.max(0, left) || 0);
    if (!ref) Deno.unrefTimer(id);
    timer.id = id;
  };
  arm(ms);
  return timer;
}

/** Stops a timer from {@linkcode startTimer}; undefined is fine. */
export function stopTimer(timer: Timer | undefined): void {
  if (timer) clearTimeout(timer.id);
}

/** Resolves after `ms` (never, for `Infinity`), with {@linkcode startTimer}'s rules. */
export function sleep(ms: number, ref = true): Promise<void> {
  return new Promise((resolve) => startTimer(resolve, ms, ref));
}
