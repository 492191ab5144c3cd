/**
 * Python's bounded wait: for an event, at most a timeout, cancellable.
 *
 * @module
 */

import { startTimer, stopTimer } from "./_duration.ts";

/**
 * Resolves when `ended` settles or `timeoutMs` passes, whichever is first;
 * waits forever without a timeout or with `Infinity`, and only polls with
 * zero or less. Rejects with the signal's reason on abort. Leaves no timer or
 * listener behind. The caller checks `timeoutMs` (`checkDuration`).
 */
export function waitFor(ended: Promise<unknown>, timeoutMs?: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (timeoutMs !== undefined && timeoutMs <= 0) return Promise.resolve();
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = timeoutMs === undefined ? undefined : startTimer(resolve, timeoutMs);
  const onAbort = () => reject(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  ended.then(() => resolve(), () => resolve());
  return promise.finally(() => {
    stopTimer(timer);
    signal?.removeEventListener("abort", onAbort);
  });
}
