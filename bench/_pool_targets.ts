/** What the benchmark's pools run: exported, so pool workers find them by name. */

/** The trivial task: the cost measured is the pool's alone. */
export function square(x: number): number {
  return x * x;
}

/** CPU-bound work: naive Fibonacci. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
