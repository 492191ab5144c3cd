# Python's multiprocessing.Pool: apply_async throughput and map of a million
# items, for the benchmark table. Prints the samples as JSON.
import json, multiprocessing as mp, sys, time

def square(x):
    return x * x

if __name__ == "__main__":
    mode, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    samples = []
    with mp.Pool(2) as pool:
        pool.map(square, range(100))
        for _ in range(runs):
            t0 = time.perf_counter()
            if mode == "apply_async":
                results = [pool.apply_async(square, (i,)) for i in range(n)]
                for r in results:
                    r.get()
            else:
                pool.map(square, range(n))
            samples.append((time.perf_counter() - t0) * 1e6 / n)
    print(json.dumps(samples))
