"""The test fabric: moto server behind the fidelity layer, on a loopback port, seeded from a
scenario file.

    fabric.py --scenario org.json [--port 0] [--state-out state.json] [--calls-log calls.jsonl]

Prints `READY <endpoint>` on stdout once seeded, then serves until stdin closes or it is
killed. The endpoint goes into AWS_ENDPOINT_URL; the real SDK talks to it like to AWS.

While it serves, each line on stdin is one change to the organization between two scans (a
JSON object, `control.py`), answered on stdout with `OK <json>` or `ERR <message>`.
"""

import argparse
import json
import os
import sys
import threading

os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control import apply  # noqa: E402
from fidelity import Extras, FidelityLayer  # noqa: E402
from seed import seed  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    """No access log: the call log is the record, and stderr stays readable."""

    def log_request(self, *args, **kwargs):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-out")
    parser.add_argument("--calls-log")
    args = parser.parse_args()

    with open(args.scenario) as f:
        scenario = json.load(f)
    extras = Extras()
    moto = DomainDispatcherApplication(create_backend_app)
    layer = FidelityLayer(moto, scenario, extras, args.calls_log)
    server = make_server(
        "127.0.0.1", args.port, layer, threaded=True, request_handler=QuietHandler
    )
    # A connection the fidelity layer resets on purpose is not an error worth a traceback.
    server.handle_error = lambda request, client_address: None
    threading.Thread(target=server.serve_forever, daemon=True).start()

    state = seed(scenario, layer, extras)
    state["endpoint"] = f"http://127.0.0.1:{server.server_port}"
    if args.state_out:
        with open(args.state_out, "w") as f:
            json.dump(state, f, indent=2)
    layer.recording = True
    print(f"READY {state['endpoint']}", flush=True)

    # Serve until whoever started us goes away (stdin closes) or kills us; each line read is
    # a change to apply.
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = apply(json.loads(line), state, layer, extras)
                print(f"OK {json.dumps(answer)}", flush=True)
            except Exception as e:  # the test reads the message and fails with it
                print(f"ERR {type(e).__name__}: {e}", flush=True)
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
