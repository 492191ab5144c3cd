# Python's multiprocessing.Process start+join of an empty target, for the benchmark table.
import json, multiprocessing, statistics, sys, time

def empty():
    pass

if __name__ == "__main__":
    method = sys.argv[1]
    runs = int(sys.argv[2])
    ctx = multiprocessing.get_context(method)
    samples = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        p = ctx.Process(target=empty)
        p.start()
        p.join()
        if i >= 3:
            samples.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(samples))
