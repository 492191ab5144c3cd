// A Process subclass that overrides run() (seeds 000 and 001, "ClockProcess").
// The class must be exported: the child imports this module to find it.
import { Process } from "../mod.ts";

export class ClockProcess extends Process {
  constructor(readonly intervalMs: number) {
    super();
  }

  override async run(): Promise<void> {
    for (let n = 3; n > 0; n--) {
      console.log(`${this.name}: the time is ${new Date().toLocaleTimeString()}`);
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}

if (import.meta.main) {
  const clock = new ClockProcess(400);
  await clock.start(); // runs clock.run() in the child
  await clock.join();
  console.log(`${clock.name} exited with code ${clock.exitCode}`);
}
