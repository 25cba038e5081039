"""The benchmark harness behind ``bench/run``: gun against the peers, side by side, in one run.

Modules: :mod:`bench.common` (servers, the alternating runner, the tables), one module per
workload (:mod:`bench.http1`, :mod:`bench.h2`, :mod:`bench.ws`, :mod:`bench.core`,
:mod:`bench.memory`) and :mod:`bench.h2minimal` (the h2 + asyncio peer).
"""
