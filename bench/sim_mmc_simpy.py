#!/usr/bin/env python3
"""The M/M/c queue of bench/sim_bench.cpp written for SimPy (Debian's python3-simpy, the SimPy 2
API), for a side-by-side speed comparison. Prints one JSON line: customers, seconds (process
time), mean wait in queue.

    /usr/bin/python3 bench/sim_mmc_simpy.py --servers 8 --rho 0.9 --customers 200000
"""
import argparse
import json
import random
import time

from SimPy.Simulation import (Process, Resource, activate, hold, initialize, now, release,
                              request, simulate)


class Customer(Process):
    def visit(self, server, service_rate, stats, rng):
        arrived = now()
        yield request, self, server
        stats["waits"] += now() - arrived
        stats["served"] += 1
        yield hold, self, rng.expovariate(service_rate)
        yield release, self, server


class Source(Process):
    def generate(self, customers, arrival_rate, service_rate, server, stats, rng):
        for _ in range(customers):
            c = Customer()
            activate(c, c.visit(server, service_rate, stats, rng))
            yield hold, self, rng.expovariate(arrival_rate)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--servers", type=int, default=8)
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--customers", type=int, default=200000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    service_rate = 1.0
    arrival_rate = a.rho * a.servers * service_rate
    stats = {"waits": 0.0, "served": 0}
    started = time.process_time()
    initialize()
    server = Resource(capacity=a.servers)
    source = Source()
    activate(source, source.generate(a.customers, arrival_rate, service_rate, server, stats, rng))
    simulate(until=1e18)
    seconds = time.process_time() - started
    print(json.dumps({"customers": a.customers, "seconds": seconds,
                      "mean_wait": stats["waits"] / max(1, stats["served"])}))


if __name__ == "__main__":
    main()
