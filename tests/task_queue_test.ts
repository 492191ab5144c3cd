/**
 * The pool's line of waiting tasks on its own (`src/_task_queue.ts`): first
 * in, first out; tasks given back go to the front; settled tasks are skipped.
 */

import assert from "node:assert/strict";
import { TaskQueue } from "../src/pool/_task_queue.ts";

interface Task {
  readonly n: number;
  settled: boolean;
}

const task = (n: number): Task => ({ n, settled: false });

/** Takes every task still waiting, in order, as the pool does: peek, then shift. */
function drain(line: TaskQueue<Task>): number[] {
  const order: number[] = [];
  for (let next = line.peek(); next !== undefined; next = line.peek()) {
    order.push(next.n);
    line.shift();
  }
  return order;
}

Deno.test("tasks leave the line in the order they joined it", () => {
  const line = new TaskQueue<Task>();
  assert.equal(line.peek(), undefined);
  for (let n = 0; n < 5; n++) line.push(task(n));
  assert.equal(line.peek()?.n, 0);
  assert.equal(line.peek()?.n, 0, "peek takes nothing");
  assert.deepEqual(drain(line), [0, 1, 2, 3, 4]);
  assert.equal(line.peek(), undefined);
});

Deno.test("settled tasks are skipped wherever they stand", () => {
  const table: [string, number[], number[]][] = [
    ["none", [], [0, 1, 2, 3, 4, 5]],
    ["the first", [0], [1, 2, 3, 4, 5]],
    ["the last", [5], [0, 1, 2, 3, 4]],
    ["every other", [0, 2, 4], [1, 3, 5]],
    ["a run at the front", [0, 1, 2], [3, 4, 5]],
    ["all", [0, 1, 2, 3, 4, 5], []],
  ];
  for (const [what, settled, left] of table) {
    const line = new TaskQueue<Task>();
    const tasks = Array.from({ length: 6 }, (_, n) => task(n));
    for (const t of tasks) line.push(t);
    for (const n of settled) tasks[n]!.settled = true;
    assert.deepEqual(drain(line), left, what);
  }
});

Deno.test("a task settled after it was peeked at is skipped at the next peek", () => {
  const line = new TaskQueue<Task>();
  const first = task(1);
  line.push(first);
  line.push(task(2));
  assert.equal(line.peek(), first);
  first.settled = true;
  assert.equal(line.peek()?.n, 2);
});

Deno.test("tasks given back go before every other task, in their own order", () => {
  // Given back after 0 to `taken` tasks left the line: with room before the head, and without.
  for (const taken of [0, 1, 2, 3, 5]) {
    const line = new TaskQueue<Task>();
    for (let n = 0; n < 6; n++) line.push(task(n));
    for (let i = 0; i < taken; i++) line.shift();
    line.pushFront([task(100), task(101), task(102)]);
    line.push(task(6));
    const waiting = Array.from({ length: 6 - taken }, (_, i) => taken + i);
    assert.deepEqual(drain(line), [100, 101, 102, ...waiting, 6], `after ${taken} taken`);
  }
  const line = new TaskQueue<Task>();
  line.pushFront([]);
  line.pushFront([task(1)]);
  assert.deepEqual(drain(line), [1], "into an empty line");
});

Deno.test("takeAll empties the line and returns what was waiting, settled tasks included", () => {
  const line = new TaskQueue<Task>();
  const tasks = Array.from({ length: 4 }, (_, n) => task(n));
  for (const t of tasks) line.push(t);
  line.shift();
  tasks[2]!.settled = true;
  assert.deepEqual(line.takeAll().map((t) => t.n), [1, 2, 3]);
  assert.equal(line.peek(), undefined);
  assert.deepEqual(line.takeAll(), []);
  line.push(task(9));
  assert.deepEqual(drain(line), [9], "the line is usable again");
});

Deno.test("a long line keeps its order while tasks come and go", () => {
  const line = new TaskQueue<Task>();
  const order: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) line.push(task(next++));
    for (let i = 0; i < 80; i++) {
      order.push(line.peek()!.n);
      line.shift();
    }
    if (round % 10 === 9) {
      const first = line.peek()!;
      line.shift();
      line.pushFront([first]);
    }
  }
  order.push(...drain(line));
  assert.deepEqual(order, Array.from({ length: next }, (_, n) => n));
});
