/**
 * The pool's line of tasks waiting for a worker: first in, first out, with
 * tasks a dead worker gives back going to the front (they were submitted
 * earlier). Tasks settled while waiting (cancelled) are skipped when they
 * reach the front, so a cancel costs nothing here.
 *
 * @module
 */

/** What the line needs to know of a task. */
export interface Waiting {
  readonly settled: boolean;
}

export class TaskQueue<T extends Waiting> {
  #items: T[] = [];
  #head = 0;

  /** The first task not settled, or undefined; settled ones before it are dropped. */
  peek(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head]!.settled) this.#head++;
    if (this.#head < items.length) return items[this.#head];
    items.length = this.#head = 0;
    return undefined;
  }

  /** Drops the first task (the one `peek` returned). */
  shift(): void {
    // Reclaims the space before the head now and then, so a long line costs O(1) a task.
    if (++this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  push(task: T): void {
    this.#items.push(task);
  }

  /** Puts `tasks`, in their order, before every other task. */
  pushFront(tasks: readonly T[]): void {
    if (tasks.length === 0) return;
    if (this.#head >= tasks.length) {
      this.#head -= tasks.length;
      for (let i = 0; i < tasks.length; i++) this.#items[this.#head + i] = tasks[i]!;
    } else {
      this.#items = [...tasks, ...this.#items.slice(this.#head)];
      this.#head = 0;
    }
  }

  /** Empties the line, returning what was in it (settled tasks included). */
  takeAll(): T[] {
    const all = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return all;
  }
}
