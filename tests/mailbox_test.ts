import assert from "node:assert/strict";
import { currentProcess, parentProcess, Process, Queue, QueueEmptyError } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, joined, PATIENCE_MS } from "./_helpers.ts";
import * as targets from "./testdata/queue_targets.ts";

const module = targets.MODULE;

Deno.test("the main process has a mailbox of its own and no parent", async () => {
  const mailbox = currentProcess().mailbox;
  assert.ok(mailbox instanceof Queue);
  assert.equal(currentProcess().mailbox, mailbox, "the same queue every time");
  assert.equal(parentProcess(), null);
  await mailbox.put("note to self");
  assert.equal(await mailbox.get({ timeout: PATIENCE_MS }), "note to self");
});

Deno.test("a child's mailbox exists before start and is one queue", () => {
  const p = new Process({ target: targets.answerMail, args: [0], module });
  assert.ok(p.mailbox instanceof Queue);
  assert.equal(p.mailbox, p.mailbox);
  assert.notEqual(p.mailbox, currentProcess().mailbox);
  assert.notEqual(p.mailbox, new Process({ module }).mailbox);
});

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("mail put before start reaches the child, and its answers reach the parent's mailbox", async () => {
    const p = new Process({ target: targets.answerMail, args: [3], module, backend });
    await p.mailbox.put("before start");
    await p.mailbox.put({ nested: [1, new Date(2)] });
    await p.start();
    const answers = [];
    answers.push(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }));
    answers.push(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }));
    await p.mailbox.put("after start");
    answers.push(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }));
    await joined(p);
    assert.deepEqual(answers, [
      { from: p.name, reply: "before start" },
      { from: p.name, reply: { nested: [1, new Date(2)] } },
      { from: p.name, reply: "after start" },
    ]);
    await assert.rejects(
      currentProcess().mailbox.get({ block: false }),
      QueueEmptyError,
      "nothing else came",
    );
    assert.ok(p.mailbox.empty(), "the child read its mail");
  });

  test("two children each read only their own mailbox", async () => {
    const a = new Process({ target: targets.answerMail, args: [1], module, backend });
    const b = new Process({ target: targets.answerMail, args: [1], module, backend });
    await a.mailbox.put("for a");
    await b.mailbox.put("for b");
    await Promise.all([a.start(), b.start()]);
    const answers = [
      await currentProcess().mailbox.get({ timeout: PATIENCE_MS }),
      await currentProcess().mailbox.get({ timeout: PATIENCE_MS }),
    ] as { from: string; reply: string }[];
    await joined(a);
    await joined(b);
    answers.sort((x, y) => x.reply.localeCompare(y.reply));
    assert.deepEqual(answers, [{ from: a.name, reply: "for a" }, { from: b.name, reply: "for b" }]);
  });

  for (const grandchild of BACKENDS) {
    test(`a child mails a ${grandchild} grandchild and relays its answer`, async () => {
      const p = new Process({
        target: targets.mailGrandchild,
        args: ["hello, grandchild", grandchild],
        module,
        backend,
      });
      await p.start();
      const report = await currentProcess().mailbox.get({ timeout: PATIENCE_MS }) as {
        relayedBy: string;
        answer: { from: string; reply: unknown };
      };
      await joined(p);
      assert.equal(report.relayedBy, p.name);
      assert.equal(report.answer.reply, "hello, grandchild");
      // A child's child is named after its parent's identity: Process-N:M.
      assert.equal(report.answer.from.startsWith(`${p.name}:`), true, `answered by ${report.answer.from}`);
    });
  }
}
