/**
 * A program without `net` permission uses a Manager: it cannot listen, so
 * its worker children reach it through its mailbox. Run by manager_connect_test.ts.
 */
import { type DictProxy, Manager, Process } from "../../mod.ts";

export async function child(d: DictProxy<string, number>) {
  await d.set("child", 1);
}

if (import.meta.main) {
  await using manager = await new Manager().start();
  const d = await manager.dict<string, number>();
  const p = new Process({ target: child, args: [d] });
  await p.start();
  await p.join();
  console.log(`child exit ${p.exitCode}, dict ${JSON.stringify([...await d.copy()])}`);
  try {
    manager.address;
  } catch (error) {
    console.log(`address: ${(error as Error).message}`);
  }
}
