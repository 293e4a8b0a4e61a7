#!/usr/bin/env python3
"""A small stand-in for a Confluent Schema Registry, for tests.

Serves GET /schemas/ids/<ID> as the registry does: 200 with
{"schema": "<the schema as a JSON string>"} when DIR/<ID>.avsc exists, 404
with {"error_code": 40403, "message": "Schema <ID> not found"} otherwise, 401
when --user is given and the request's basic auth does not match. A test
"registers" a schema by writing DIR/<ID>.avsc. GET /__stats (no auth)
answers {"<ID>": requests, ...}: every /schemas/ids/<ID> request counted,
answered or not. Listens on 127.0.0.1, a free port written to --port-file
once it listens.

Usage: registry_stub.py --dir DIR --port-file FILE [--user U --password P]
"""
import argparse
import base64
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    a = ap.parse_args()
    counts = {}
    lock = threading.Lock()
    want_auth = None
    if a.user is not None:
        want_auth = "Basic " + base64.b64encode(
            ("%s:%s" % (a.user, a.password)).encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real one

        def send(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/__stats":
                with lock:
                    self.send(200, dict(counts))
                return
            m = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
            if not m:
                self.send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                return
            sid = m.group(1)
            with lock:
                counts[sid] = counts.get(sid, 0) + 1
            if want_auth is not None and self.headers.get("Authorization") != want_auth:
                self.send(401, {"error_code": 401, "message": "Unauthorized"})
                return
            path = os.path.join(a.dir, sid + ".avsc")
            try:
                with open(path) as f:
                    text = f.read()
            except OSError:
                self.send(404, {"error_code": 40403, "message": "Schema %s not found" % sid})
                return
            self.send(200, {"schema": text})

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
