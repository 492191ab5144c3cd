# Python's manager proxies, for the benchmark table: a child process calls
# d.get() on a manager's dict, in rounds. Prints microseconds per call, per round.
import json, multiprocessing as mp, sys, time

def time_calls(d, n, rounds, out):
    for _ in range(200):
        d.get("x")
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            d.get("x")
        samples.append((time.perf_counter() - t0) * 1e6 / n)
    out.put(samples)

if __name__ == "__main__":
    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    with mp.Manager() as manager:
        d = manager.dict({"x": 1})
        out = mp.Queue()
        p = mp.Process(target=time_calls, args=(d, n, rounds, out))
        p.start()
        samples = out.get()
        p.join()
    print(json.dumps(samples))
