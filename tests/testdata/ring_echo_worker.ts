/**
 * A plain Worker (no troupe child) for `ring_test.ts`: takes items from the
 * first ring it is sent and puts each back on the second as `{ echo }`,
 * then closes the second once the first is closed and drained.
 */

import { finishItem, prepare } from "../../src/memory/_item_codec.ts";
import { Ring } from "../../src/memory/_ring.ts";

addEventListener("message", async (event) => {
  const [inbox, outbox] = (event as MessageEvent<[SharedArrayBuffer, SharedArrayBuffer]>).data;
  const input = new Ring(inbox), output = new Ring(outbox);
  for (;;) {
    const taken = await input.take({ until: Infinity });
    if (typeof taken === "symbol") break;
    await output.put(prepare({ echo: finishItem(taken) }), { until: Infinity });
  }
  output.close();
});
