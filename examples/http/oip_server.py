#!/usr/bin/env python3
"""A small Open Inference Protocol (KServe v2 / Triton) server for a pickled scikit-learn classifier.

    python3 examples/http/oip_server.py --model models/model.pkl [--name location] [--port 8080]
        [--output probs|logits|label] [--token-env VAR] [--port-file FILE] [--log FILE]

Endpoints (the protocol's REST form):
  GET  /v2/health/live, /v2/health/ready     200 when up
  GET  /v2/models/NAME                       the model's metadata
  POST /v2/models/NAME/infer                 {"inputs": [{"name", "shape": [n, d], "datatype": "FP64"|"FP32",
                                             "data": [...]}]} -> {"model_name", "outputs": [{"name", "shape": [n, c],
                                             "datatype": "FP64", "data": [... row-major]}]}
The output is predict_proba ("probabilities"), with --output logits decision_function ("logits"), or
with --output label predict ("label": the predicted class, shape [n]).
With --token-env VAR every request must carry "Authorization: Bearer <the value of VAR>" (else 401).
--port 0 takes a free port; --port-file writes the port once the server listens. --log appends one
line per infer request (its number of rows and the time it arrived, in seconds), for counting what
a client sent and how fast.

For testing a client's error handling, --fault MODE answers the first --fault-after N infer requests
normally and every later one with the fault: 500 (an internal error), slow (sleeps --slow-s seconds,
then answers), malformed (a body that is not JSON), shape (one output column too few), redirect (a
307 to another address), badlabel (with --output label: class 999 for the first record).

In a real deployment use KServe, Triton or MLServer; this script is a reference for the protocol
and a server tests can start on localhost. Needs scikit-learn and numpy.
"""

import argparse
import json
import os
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--name", default="model")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--port-file")
    ap.add_argument("--output", choices=["probs", "logits", "label"], default="probs")
    ap.add_argument("--token-env")
    ap.add_argument("--log")
    ap.add_argument("--fault", choices=["none", "500", "slow", "malformed", "shape", "redirect", "badlabel"], default="none")
    ap.add_argument("--fault-after", type=int, default=0)
    ap.add_argument("--slow-s", type=float, default=5.0)
    args = ap.parse_args()

    with open(args.model, "rb") as f:
        model = pickle.load(f)
    token = os.environ[args.token_env] if args.token_env else None
    out_name = {"probs": "probabilities", "logits": "logits", "label": "label"}[args.output]
    served = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path in ("/v2/health/live", "/v2/health/ready"):
                return self.answer(200, {"live": True, "ready": True})
            if self.path == f"/v2/models/{args.name}":
                return self.answer(200, {"name": args.name, "platform": "sklearn",
                                         "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, -1]}],
                                         "outputs": [{"name": out_name, "datatype": "FP64", "shape": [-1, -1]}]})
            self.answer(404, {"error": f"no route {self.path}"})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != f"/v2/models/{args.name}/infer":
                return self.answer(404, {"error": f"no model at {self.path}"})
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                return self.answer(401, {"error": "missing or wrong bearer token"})
            try:
                req = json.loads(body)
                inp = req["inputs"][0]
                x = np.asarray(inp["data"], dtype=np.float64).reshape(inp["shape"])
            except (ValueError, KeyError, IndexError, TypeError) as e:
                return self.answer(400, {"error": f"bad request: {e}"})
            with lock:
                served["n"] += 1
                n = served["n"]
                if args.log:
                    with open(args.log, "a") as f:
                        f.write(f"{x.shape[0]} {time.time():.4f}\n")
            faulty = args.fault != "none" and n > args.fault_after
            if faulty and args.fault == "500":
                return self.answer(500, {"error": "internal error (injected)"})
            if faulty and args.fault == "slow":
                time.sleep(args.slow_s)
            if faulty and args.fault == "redirect":
                self.send_response(307)
                self.send_header("Location", "http://192.0.2.1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if faulty and args.fault == "malformed":
                return self.answer(200, b"<html>not json</html>", "text/html")
            if args.output == "label":
                y = model.predict(x)
                if faulty and args.fault == "shape":
                    y = y[:-1]
                if faulty and args.fault == "badlabel":
                    y = np.concatenate([[999], y[1:]])
                return self.answer(200, {"model_name": args.name, "id": req.get("id", ""),
                                         "outputs": [{"name": out_name, "shape": [len(y)], "datatype": "INT64",
                                                      "data": [int(v) for v in y]}]})
            y = model.predict_proba(x) if args.output == "probs" else model.decision_function(x)
            y = np.atleast_2d(np.asarray(y, dtype=np.float64))
            if y.shape[0] != x.shape[0]:
                y = y.reshape(x.shape[0], -1)
            if faulty and args.fault == "shape":
                y = y[:, :-1]
            self.answer(200, {"model_name": args.name, "id": req.get("id", ""),
                              "outputs": [{"name": out_name, "shape": list(y.shape), "datatype": "FP64",
                                           "data": y.ravel().tolist()}]})

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    print(f"serving {args.model} as {args.name} on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
