"""Start Autobahn|Testsuite's fuzzing server on 127.0.0.1 only (``wstest`` binds every interface).

Runs under Python 2.7, with the interpreter of the virtualenv made by
``install_autobahn.sh``::

    autobahn-venv/bin/python wstest_launch.py SPEC.json CASES.json

It builds the same factory ``wstest -m fuzzingserver`` builds, writes the resolved
list of case ids (the order in which ``/runCase?case=N`` numbers them, from 1) to
CASES.json, and runs the reactor until SIGTERM. Keep this file valid Python 2 and 3.
"""

import json
import os
import sys


def main():
    # type: () -> None
    # Do not let this folder shadow the packages of the virtualenv.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec_file, cases_file = sys.argv[1], sys.argv[2]
    with open(spec_file) as f:
        spec = json.load(f)

    # autobahntestsuite chooses the reactor when imported: it must come first, as in wstest.
    import autobahntestsuite  # type: ignore[import-not-found]  # noqa: F401
    from autobahn.twisted.websocket import listenWS  # type: ignore[import-not-found]
    from autobahntestsuite import fuzzing
    from twisted.internet import reactor  # type: ignore[import-not-found]

    factory = fuzzing.FuzzingServerFactory(spec, False)
    with open(cases_file, "w") as f:
        json.dump(list(factory.specCases), f)
    listenWS(factory, None, 50, "127.0.0.1")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
