#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deliberately hostile VPS.org API, for tests of what the collection does with answers it must not trust.

It listens on 127.0.0.1 only, on two free ports: the "API" (the URL the collection is configured with) and
an "elsewhere" port that stands for another host an answer may point to. Both log every request, recording
only whether it carried an Authorization header, never the header itself.

What the API answers is scripted, route by route, through its control endpoints (no auth, loopback only):

    POST /_hostile/routes   [route, ...]   replace the script; a route is a JSON object:
        method, path         which request it answers (path without the query; "*" for any method)
        query                optional: a substring the query string must contain
        status, headers      the answer's status and headers (default 200, JSON)
        json | body          a JSON value, or a text body; "{api}", "{elsewhere}", "{api_port}" and
                             "{elsewhere_port}" in strings (and header values) become this server's addresses
        repeat               the body repeated to this many bytes (for oversized answers)
        sequence             a list of JSON values answered in turn, the last one from then on
        trickle              send the answer one byte every this many seconds (stops after 60 s)
        trickle_headers      trickle the status line and headers too, not only the body
        close_delimited      no Content-Length: the body ends when the connection closes
        pages                instead of json: DRF pages of these items (page_size items each, default 2)
        page_size, shrink_on_page
                             with pages: when that page is first asked for, the first item is deleted
                             before answering, as another run deleting a snapshot would do
    GET  /_hostile/log       {"requests": [{"port": "api"|"elsewhere", "method", "path", "authorization": bool}]}
    POST /_hostile/reset     forget the script and the log
    POST /_hostile/stop      stop the script run of hostile.py

Run it as a script (`hostile.py [--lifetime SECONDS] [--url-file PATH]`): it prints the API's base URL, then
the other port's origin, one per line (and writes them to PATH, which appears complete at once), and stops on
POST /_hostile/stop or by itself after --lifetime seconds (default 900). Tests in Python use HostileServer as a
context manager.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_TRICKLE_SECONDS = 60.0
SOCKET_TIMEOUT = 30.0
JSON = {'Content-Type': 'application/json'}


class HostileServer(object):
    """The two listening ports, the script of answers and the request log."""

    def __init__(self):
        self.routes = []
        self.requests = []
        self.lock = threading.Lock()
        self.api = _make_server(self, 'api')
        self.elsewhere = _make_server(self, 'elsewhere')
        self.api_origin = 'http://127.0.0.1:%d' % self.api.server_port
        self.elsewhere_origin = 'http://127.0.0.1:%d' % self.elsewhere.server_port
        self.base_url = self.api_origin + '/api/v1'
        self.control_url = self.api_origin + '/_hostile'
        self.threads = []
        self.stopping = threading.Event()

    def start(self):
        for server in (self.api, self.elsewhere):
            thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1})
            thread.daemon = True
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self):
        for server in (self.api, self.elsewhere):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def script(self, routes):
        with self.lock:
            self.routes = [dict(route, used=0) for route in routes]
            self.requests[:] = []

    def log(self):
        with self.lock:
            return [dict(entry) for entry in self.requests]

    def fill(self, value):
        """Put this server's addresses into the strings of an answer."""
        if isinstance(value, str):
            return (value.replace('{api_port}', str(self.api.server_port)).replace('{elsewhere_port}', str(self.elsewhere.server_port))
                    .replace('{api}', self.api_origin).replace('{elsewhere}', self.elsewhere_origin))
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return dict((key, self.fill(item)) for key, item in value.items())
        return value

    def answer(self, method, path, query):
        """(status, headers, body bytes, trickle seconds, trickle headers) for a request to the API port."""
        with self.lock:
            route = next((route for route in self.routes
                          if route.get('method', '*') in ('*', method) and route.get('path') == path
                          and route.get('query', '') in query), None)
            if route is None:
                return 404, dict(JSON), b'{"detail": "Not found."}', 0, False
            route['used'] += 1
            status = route.get('status', 200)
            headers = dict(JSON)
            headers.update(self.fill(route.get('headers', {})))
            if 'pages' in route:
                body = json.dumps(self._page(route, query)).encode()
            elif 'sequence' in route:
                body = json.dumps(self.fill(route['sequence'][min(route['used'], len(route['sequence'])) - 1])).encode()
            elif 'json' in route:
                body = json.dumps(self.fill(route['json'])).encode()
            else:
                body = self.fill(route.get('body', '')).encode()
        if route.get('repeat') and body:
            body = (body * (route['repeat'] // len(body) + 1))[:route['repeat']]
        if route.get('close_delimited'):
            headers['Connection'] = 'close'
            headers['Content-Length'] = None
        return status, headers, body, float(route.get('trickle', 0)), bool(route.get('trickle_headers'))

    def _page(self, route, query):
        """DRF page-number pagination over route['pages'], which may shrink between page reads."""
        size = int(route.get('page_size', 2))
        number = int((parse_qs(query).get('page') or ['1'])[0])
        if number == route.get('shrink_on_page') and not route.get('shrunk'):
            route['shrunk'] = True
            route['pages'] = route['pages'][1:]
        items = route['pages']
        last = max(1, (len(items) + size - 1) // size)
        if not 1 <= number <= last:
            raise _Invalid()
        link = '%s%s?page=%%d&page_size=%d' % (self.api_origin, route['path'], size)
        return {'count': len(items), 'next': link % (number + 1) if number < last else None,
                'previous': link % (number - 1) if number > 1 else None, 'results': items[(number - 1) * size:number * size]}


class _Invalid(Exception):
    pass


def _make_server(hostile, port_name):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        timeout = SOCKET_TIMEOUT

        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get('Content-Length') or 0)
            raw = self.rfile.read(min(length, 1024 * 1024)) if length else b''
            if parts.path.startswith('/_hostile/') and port_name == 'api':
                return self._control(parts.path, raw)
            with hostile.lock:
                hostile.requests.append(dict(port=port_name, method=self.command, path=self.path, time=time.time(),
                                             authorization='Authorization' in self.headers))
            if port_name == 'elsewhere':
                return self._send(200, dict(JSON), b'{"count": 0, "next": null, "previous": null, "results": []}')
            try:
                status, headers, body, trickle, trickle_headers = hostile.answer(self.command, parts.path, parts.query)
            except _Invalid:
                return self._send(404, dict(JSON), b'{"detail": "Invalid page."}')
            return self._send(status, headers, body, trickle, trickle_headers)

        def _control(self, path, raw):
            if path == '/_hostile/routes' and self.command == 'POST':
                hostile.script(json.loads(raw.decode() or '[]'))
                return self._send(200, dict(JSON), b'{"ok": true}')
            if path == '/_hostile/reset' and self.command == 'POST':
                hostile.script([])
                return self._send(200, dict(JSON), b'{"ok": true}')
            if path == '/_hostile/stop' and self.command == 'POST':
                hostile.stopping.set()
                return self._send(200, dict(JSON), b'{"ok": true}')
            if path == '/_hostile/log' and self.command == 'GET':
                return self._send(200, dict(JSON), json.dumps({'requests': hostile.log()}).encode())
            return self._send(404, dict(JSON), b'{"detail": "no such control endpoint"}')

        def _send(self, status, headers, body, trickle=0, trickle_headers=False):
            head = ['HTTP/1.1 %d %s' % (status, self.responses.get(status, ('Hostile',))[0])]
            headers.setdefault('Content-Length', str(len(body)))
            head.extend('%s: %s' % (name, value) for name, value in headers.items() if value is not None)
            head = ('\r\n'.join(head) + '\r\n\r\n').encode('latin-1')
            if not trickle:
                self.wfile.write(head + body)
                return
            if not trickle_headers:
                self.wfile.write(head)
                self.wfile.flush()
                head = b''
            stop = time.monotonic() + MAX_TRICKLE_SECONDS
            data = head + body
            for index in range(len(data)):
                if time.monotonic() > stop:
                    break
                try:
                    self.wfile.write(data[index:index + 1])
                    self.wfile.flush()
                except OSError:
                    break  # the client gave up: that is what is tested
                time.sleep(trickle)
            self.close_connection = True

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle  # noqa: N815 pylint: disable=invalid-name

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = _QuietServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    return server


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            ThreadingHTTPServer.handle_error(self, request, client_address)
        # A client that hangs up on a hostile answer is what the tests want; nothing to report.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lifetime', type=float, default=900.0, help='stop after this many seconds (default: 900)')
    parser.add_argument('--url-file', help='also write the two addresses to this file')
    args = parser.parse_args(argv)
    hostile = HostileServer().start()
    addresses = '%s\n%s\n' % (hostile.base_url, hostile.elsewhere_origin)
    if args.url_file:
        with open(args.url_file + '.tmp', 'w') as url_file:
            url_file.write(addresses)
        os.rename(args.url_file + '.tmp', args.url_file)
    sys.stdout.write(addresses)
    sys.stdout.flush()
    try:
        hostile.stopping.wait(args.lifetime)
    except KeyboardInterrupt:
        pass
    hostile.stop()


if __name__ == '__main__':
    main()
