# Python's multiprocessing synchronization, for the benchmark table: a strict
# hand-off between two processes through two Semaphores, and a Value
# incremented under its lock by two processes, and seed 002's a[i] = -a[i] over
# an Array in a child (each index takes the lock). Prints the samples as JSON:
# microseconds per hand-off or per increment, milliseconds per pass.
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

def negate(a, out):
    t0 = time.perf_counter()
    for i in range(len(a)):
        a[i] = -a[i]
    out.value = (time.perf_counter() - t0) * 1e3

if __name__ == "__main__":
    mode, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    samples = []
    for _ in range(runs if mode == "index" else 0):
        a, out = mp.Array("i", n), mp.Value("d", 0.0)
        p = mp.Process(target=negate, args=(a, out))
        p.start()
        p.join()
        samples.append(out.value)
    for _ in range(0 if mode == "index" else runs):
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
