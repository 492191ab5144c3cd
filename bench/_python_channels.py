# Python's multiprocessing.Queue throughput and Pipe round trip, for the benchmark table.
import json, multiprocessing as mp, sys, time

def produce(q, n):
    for i in range(n):
        q.put({"id": i, "name": "item"})

def echo(conn):
    while True:
        try:
            conn.send(conn.recv())
        except EOFError:
            return

if __name__ == "__main__":
    mode, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    samples = []
    if mode == "queue":
        for i in range(runs + 2):
            q = mp.Queue()
            p = mp.Process(target=produce, args=(q, n))
            p.start()
            q.get()
            t0 = time.perf_counter()
            for _ in range(n - 1):
                q.get()
            samples.append((time.perf_counter() - t0) * 1e6 / (n - 1))
            p.join()
    else:
        a, b = mp.Pipe()
        p = mp.Process(target=echo, args=(b,))
        p.start()
        b.close()
        for i in range(runs + 2):
            t0 = time.perf_counter()
            for j in range(n):
                a.send(j)
                a.recv()
            samples.append((time.perf_counter() - t0) * 1e6 / n)
        a.close()
        # Under fork the child also holds a copy of `a`, so it never sees EOF.
        p.terminate()
        p.join()
    print(json.dumps(samples[2:]))
