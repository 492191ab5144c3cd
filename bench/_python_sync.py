# Python's multiprocessing synchronization, for the benchmark table: a strict
# hand-off between two processes through two Semaphores, and a Value
# incremented under its lock by two processes. Prints the samples as JSON:
# microseconds per hand-off or per increment.
import json, multiprocessing as mp, sys, time

def hand_off(mine, theirs, n, start):
    start.wait()
    for _ in range(n):
        mine.acquire()
        theirs.release()

def increment(value, n, start):
    start.wait()
    for _ in range(n):
        with value.get_lock():
            value.value += 1

if __name__ == "__main__":
    mode, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    samples = []
    for _ in range(runs):
        start = mp.Barrier(3)
        if mode == "handoff":
            a, b = mp.Semaphore(1), mp.Semaphore(0)
            procs = [mp.Process(target=hand_off, args=(a, b, n, start)),
                     mp.Process(target=hand_off, args=(b, a, n, start))]
        else:
            value = mp.Value("i", 0)
            procs = [mp.Process(target=increment, args=(value, n // 2, start)) for _ in range(2)]
        for p in procs:
            p.start()
        start.wait()
        t0 = time.perf_counter()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        if mode == "value" and value.value != n:
            sys.exit(f"lost updates: {value.value} of {n}")
        samples.append(elapsed * 1e6 / (2 * n if mode == "handoff" else n))
    print(json.dumps(samples))
