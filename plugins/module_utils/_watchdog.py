# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One attempt, one deadline: the watchdog that ends an attempt once api_timeout has passed, and the
session adapter whose connections obey it.

requests' timeout bounds each socket read, so a server that trickles a byte every few seconds never
times out. Each attempt therefore arms a watchdog: when api_timeout has passed, it shuts the attempt's
socket down, which ends whatever read or write is blocked on it.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports nothing of the collection; only _transport.py uses it.
"""

import re
import socket
import threading

try:
    import requests
    from requests.exceptions import ConnectTimeout
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False

# An answer larger than this is not a page of snapshots: it is refused without being read to its end.
MAX_ANSWER_BYTES = 10 * 1024 * 1024

_attempt = threading.local()


class Watchdog:
    """Shuts the connection of one attempt down once its deadline has passed."""

    def __init__(self, seconds):
        self.expired = False
        self.connection = None
        # The socket itself: http.client drops connection.sock as soon as a close-delimited answer starts, while
        # the body is still being read from that very socket.
        self.sock = None
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        _attempt.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._done = True
        self._timer.cancel()
        _attempt.watchdog = None

    def watch(self, connection):
        with self._lock:
            self.connection = connection
            self.sock = getattr(connection, 'sock', None) or self.sock
            expired = self.expired
        if expired:
            self._shut_down()

    def _expire(self):
        with self._lock:
            if self._done:
                return
            self.expired = True
        self._shut_down()

    def _shut_down(self):
        with self._lock:
            sockets = [getattr(self.connection, 'sock', None), self.sock]
        for sock in sockets:
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except (OSError, ValueError):
                    pass  # already closed: nothing is blocked on it any more


def _watched(connection_class):
    class WatchedConnection(connection_class):
        """A urllib3 connection that the current attempt's watchdog can shut down."""

        def connect(self):
            super().connect()
            watchdog = getattr(_attempt, 'watchdog', None)
            if watchdog is not None:
                watchdog.watch(self)

        def request(self, *args, **kwargs):
            watchdog = getattr(_attempt, 'watchdog', None)
            if watchdog is not None:
                watchdog.watch(self)
            return super().request(*args, **kwargs)

    return WatchedConnection


if HAS_REQUESTS:
    class _WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = _watched(HTTPConnection)

    class _WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = _watched(HTTPSConnection)

    class DeadlineAdapter(requests.adapters.HTTPAdapter):
        """The session's adapter: its connections obey the watchdog of the attempt that uses them."""

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            _use_watched_pools(self.poolmanager)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            _use_watched_pools(manager)
            return manager
else:
    DeadlineAdapter = None  # _connection.client_for reports the missing library before a client is built


def _use_watched_pools(manager):
    manager.pool_classes_by_scheme = {'http': _WatchedHTTPPool, 'https': _WatchedHTTPSPool}


def read_body(response, limit=MAX_ANSWER_BYTES):
    """The whole body of a streamed answer, or None when it is larger than limit (the rest is not read)."""
    chunks = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            return None
        chunks.append(chunk)
    return b''.join(chunks)


# What a failed attempt tells ----------------------------------------------------------------------

def never_reached_server(exc):
    """True for connection errors that happened before any byte of the request was sent."""
    if isinstance(exc, ConnectTimeout):
        return True
    for arg in getattr(exc, 'args', ()):
        if isinstance(arg, MaxRetryError) and isinstance(arg.reason, NewConnectionError):
            return True
        if isinstance(arg, NewConnectionError):
            return True
    return False


def short_exception(exc, redact=str):
    """The innermost reason of a requests exception, without urllib3's pool and object wording (redacted, then cut)."""
    reason = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    if len(reason.args) == 2 and isinstance(reason.args[1], BaseException):
        # urllib3's ProtocolError('Connection aborted.', RemoteDisconnected('...'))
        text = '%s %s' % (reason.args[0], reason.args[1])
    else:
        text = str(reason)
    text = re.sub(r'<[^<>]* object at 0x[0-9a-fA-F]+>:?\s*', '', text)
    text = re.sub(r'HTTPS?Connection(?:Pool)?\([^)]*\):\s*', '', text)
    return redact(text)[:200]
