/**
 * The benchmark's actor rows: an `ask` round trip against a raw
 * `postMessage` ping-pong, and a supervised restart (crash to the
 * replacement answering) against a raw Worker's spawn.
 */

import { Process, Supervisor } from "../mod.ts";

const module = new URL("./_channel_targets.ts", import.meta.url).href;
const { echoServer } = await import("./_channel_targets.ts");

/** Asks per round-trip sample. */
export const ASKS = 2_000;

/** An actor child and a sampler of its ask round trip, in µs. */
export async function askEcho(): Promise<{ sample: () => Promise<number>; close: () => Promise<void> }> {
  const child = new Process({ target: echoServer, module });
  await child.start();
  const ref = child.ref<number, number>();
  return {
    async sample() {
      const t0 = performance.now();
      for (let i = 0; i < ASKS; i++) await ref.ask(i);
      return (performance.now() - t0) * 1000 / ASKS;
    },
    async close() {
      child.mailbox.close();
      await child.join();
    },
  };
}

/**
 * A supervised actor and a sampler of crash-to-answering-again, in ms. Each
 * crash comes 200 ms after the last restart, by when the supervisor's spare
 * for the next restart is ready (it makes it 100 ms after a restart); with
 * `spares` false every restart creates its process.
 */
export async function restartLatency(
  spares: boolean,
): Promise<{ sample: () => Promise<number>; close: () => Promise<void> }> {
  const sup = new Supervisor({
    intensity: 1_000,
    periodMs: 1_000,
    spares,
    children: [{ id: "echo", target: echoServer, module }],
  });
  await sup.start();
  const ref = sup.ref<unknown, unknown>("echo");
  return {
    async sample() {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const t0 = performance.now();
      ref.tell("crash");
      await ref.ask("back?", { timeout: 10_000 });
      return performance.now() - t0;
    },
    close: () => sup.stop(),
  };
}
