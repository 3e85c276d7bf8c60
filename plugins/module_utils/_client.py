# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client of the collection: every module, the role and the inventory plugin go through it.

Private to vpsorg.cloud: may change without notice; other collections must not import it.

It owns the Bearer token, timeouts, retries (with Retry-After and jittered exponential backoff,
shared by every thread that uses the client), pagination, and readable error messages that never
contain the token. It knows nothing of snapshots (_snapshots.py) or fleets (_fleet.py).
"""

import email.utils
import random
import re
import socket
import threading
import time
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib

# The request code below spells its error codes as literals; each is a value of _errors.ERROR_CODES.
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import CONFIG_ERROR, VpsorgApiError

try:
    import requests
    from requests.exceptions import ConnectTimeout, SSLError, Timeout
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import LocationParseError, MaxRetryError, NewConnectionError
    from urllib3.util import parse_url

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# The User-Agent's version. Modules run from an AnsiballZ zip that holds only the module_utils, so
# galaxy.yml is not there to read: tests/unit/plugins/module_utils/test_api.py keeps the two equal.
COLLECTION_VERSION = '1.0.0'
DEFAULT_API_URL = 'https://admin.vps.org/api/v1'
# DRF-style APIs cap page_size at their maximum, so asking for a large page only saves requests.
PAGE_SIZE = 100
MAX_PAGES = 10000
# Passes over a list that other runs keep changing while it is read; each pass starts at the first page.
LIST_PASSES = 5
# One read of a list, all its pages: at most this many bytes and seconds, and at most the first page's count of
# items plus LIST_MARGIN (or a tenth of the count, if more) for snapshots created while it is read. An API (or
# whoever answers for it) that sends endless fresh next links fails the read instead of filling memory.
MAX_LIST_BYTES = 64 * 1024 * 1024
LIST_SECONDS = 900
LIST_MARGIN = 200
# The largest id the API can store (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1
# Never sleep longer than this for one Retry-After, whatever the server says.
MAX_RETRY_AFTER = 120.0
# An answer larger than this is not a page of snapshots: it is refused without being read to its end.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
# What the API says in an error is shown on one line of at most this many characters.
MAX_DETAIL_CHARS = 300
# Sanity bounds of the connection options: beyond them a setting is a typo, not a wish.
MAX_API_TIMEOUT = 3600
MAX_API_RETRIES = 100
REDACTED = '********'


def vpsorg_argument_spec():
    """The connection options shared by every module (doc fragment vpsorg.cloud.vpsorg)."""
    return dict(
        api_token=dict(type='str', no_log=True, fallback=(env_fallback, ['VPSORG_API_TOKEN', 'VPS_API_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['VPSORG_API_URL', 'VPS_API_URL'])),
        validate_certs=dict(type='bool', default=True),
        api_timeout=dict(type='int', default=30),
        api_retries=dict(type='int', default=5),
    )


def _path_of(url):
    parts = urlsplit(url)
    return parts.path + ('?' + parts.query if parts.query else '')


def _first_line(text, limit=200):
    """The part of a non-JSON body a person can read: an HTML page's title, else its first line."""
    title = re.search(r'<title[^>]*>(.*?)</title>', text, re.IGNORECASE | re.DOTALL)
    if title:
        line = title.group(1)
    else:
        line = next((candidate for candidate in text.splitlines() if candidate.strip()), '')
    line = ' '.join(re.sub(r'<[^>]+>', ' ', line).split())
    return line[:limit] + ('...' if len(line) > limit else '')


def describe_error_body(response, redact=str):
    """DRF `detail`, field errors as `field: message`, or the first line of a non-JSON body.

    redact runs before anything is cut short, so that no part of a secret survives the cut.
    """
    try:
        data = response.json()
    except (ValueError, RecursionError):
        text = redact((response.text or '').strip())
        return 'non-JSON answer: %s' % _first_line(text) if text else 'empty answer'
    if isinstance(data, dict):
        if 'detail' in data and len(data) == 1:
            return str(data['detail'])
        parts = []
        for field, problems in data.items():
            if isinstance(problems, list):
                problems = ' '.join(str(problem) for problem in problems)
            parts.append('%s: %s' % (field, problems))
        return '; '.join(parts) if parts else 'empty JSON object'
    if isinstance(data, list):
        return '; '.join(str(item) for item in data)
    return str(data)


def _retry_after_seconds(response):
    value = response.headers.get('Retry-After')
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.mktime_tz(email.utils.parsedate_tz(value)) - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _never_reached_server(exc):
    """True for connection errors that happened before any byte of the request was sent."""
    if isinstance(exc, ConnectTimeout):
        return True
    for arg in getattr(exc, 'args', ()):
        if isinstance(arg, MaxRetryError) and isinstance(arg.reason, NewConnectionError):
            return True
        if isinstance(arg, NewConnectionError):
            return True
    return False


# One attempt, one deadline -------------------------------------------------------------------------
#
# requests' timeout bounds each socket read, so a server that trickles a byte every few seconds never
# times out. Each attempt therefore arms a watchdog: when api_timeout has passed, it shuts the attempt's
# socket down, which ends whatever read or write is blocked on it.

_attempt = threading.local()


class _Watchdog:
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

    class _DeadlineAdapter(requests.adapters.HTTPAdapter):
        """The session's adapter: its connections obey the watchdog of the attempt that uses them."""

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            _use_watched_pools(self.poolmanager)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            _use_watched_pools(manager)
            return manager


def _use_watched_pools(manager):
    manager.pool_classes_by_scheme = {'http': _WatchedHTTPPool, 'https': _WatchedHTTPSPool}


def _read_body(response, limit=MAX_ANSWER_BYTES):
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


# What the client lets into a URL ------------------------------------------------------------------

# Backslashes, spaces, control and non-ASCII characters are where URL parsers disagree.
_AMBIGUOUS_URL_CHARS = re.compile(r'[^\x21-\x7e]|\\')


def _one_line(text, limit=MAX_DETAIL_CHARS):
    """text on one line of at most limit characters, control characters shown as spaces."""
    line = ' '.join(re.sub(r'[\x00-\x1f\x7f]', ' ', str(text)).split())
    return line[:limit] + ('...' if len(line) > limit else '')


def _lib_origin(url):
    """(scheme, host, port, userinfo) as urllib3, which sends the request, reads url."""
    parts = parse_url(url)
    scheme = (parts.scheme or '').lower()
    return scheme, (parts.host or '').lower(), parts.port or {'http': 80, 'https': 443}.get(scheme), parts.auth


def _dot_segments(path):
    return any(segment in ('.', '..') for segment in re.sub('%2e', '.', path, flags=re.IGNORECASE).split('/'))


def _link_problem(link, api_origin, base_path):
    """Why a next-page link must not be followed, or None; api_origin as _lib_origin gives it."""
    if not isinstance(link, str):
        return 'is not a string'
    if _AMBIGUOUS_URL_CHARS.search(link):
        return 'contains a backslash, a space, a control or a non-ASCII character'
    try:
        parts = urlsplit(link)
        split_origin = (parts.scheme.lower(), (parts.hostname or '').lower(), parts.port)
        lib_origin = _lib_origin(link)
    except (ValueError, LocationParseError):
        return 'is not a valid URL'
    if '@' in parts.netloc or lib_origin[3]:
        return 'carries user information'
    if parts.scheme or parts.netloc:
        # Both parsers must read the link as the API's own origin.
        split_origin = (split_origin[0], split_origin[1].strip('[]'), split_origin[2] or {'http': 80, 'https': 443}.get(split_origin[0]))
        if lib_origin[:3] != api_origin[:3] or split_origin != (api_origin[0], api_origin[1].strip('[]'), api_origin[2]):
            return 'points to another host (%s://%s:%s)' % lib_origin[:3]
    if not (parts.path == base_path or parts.path.startswith(base_path + '/')) or _dot_segments(parts.path):
        return 'points outside the API path %s' % (base_path or '/')
    return None


class _BearerToken:
    """requests auth that sends the token as a Bearer header, and nothing else."""

    def __init__(self, token):
        self._token = token

    def __call__(self, request):
        request.headers['Authorization'] = 'Bearer %s' % self._token
        return request

    def __repr__(self):
        return '_BearerToken(%s)' % REDACTED


class VpsorgClient:
    """A requests session bound to one API URL and token.

    Safe to share between threads: a 429 pauses every thread of the client until Retry-After,
    so a pool of workers backs off together instead of each hammering the API on its own.
    """

    def __init__(self, api_url, api_token, validate_certs=True, timeout=30, retries=5, sleep=time.sleep):
        self.api_url = api_url.rstrip('/')
        self._token = api_token
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep
        # The deadline of one whole list read (all its pages, with their retries).
        self.list_seconds = max(LIST_SECONDS, 10 * timeout)
        # The origin as urllib3, which sends the requests, reads it; every request and next link is held to it.
        self._lib_origin = _lib_origin(self.api_url)
        self._base_path = urlsplit(self.api_url).path.rstrip('/')
        self._origin_url = '%s://%s' % (urlsplit(self.api_url).scheme, urlsplit(self.api_url).netloc)
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0
        # Passed with every request: a session-wide setting would lose to REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.
        self.verify = validate_certs
        self.session = requests.Session()
        # The token as the session's auth, not a plain header: requests reads ~/.netrc only for a session without
        # auth, and a netrc entry would replace the Bearer header with a Basic login. Proxies still come from the
        # environment (trust_env stays on).
        self.session.auth = _BearerToken(api_token)
        self.session.headers.update({
            'Accept': 'application/json',
            'Content-Type': 'application/json',
            'User-Agent': 'vpsorg.cloud/%s (Ansible collection)' % COLLECTION_VERSION,
        })
        # Threads of a fleet run share this session: give the pool room for all of them.
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount('http://', adapter)
        self.session.mount('https://', adapter)

    def redact(self, text):
        text = str(text)
        if self._token:
            text = text.replace(self._token, REDACTED)
        return text

    def url(self, path):
        if path.startswith('http://') or path.startswith('https://'):
            return path
        return self.api_url + '/' + path.lstrip('/')

    # Waiting ---------------------------------------------------------------------------------

    def _wait_for_pause(self):
        with self._pause_lock:
            pause = self._pause_until - time.time()
        if pause > 0:
            self._sleep(pause)

    def _pause_all(self, seconds):
        with self._pause_lock:
            self._pause_until = max(self._pause_until, time.time() + seconds)

    def _backoff(self, attempt, retry_after=None):
        if retry_after is not None:
            # Honour the server's word, shared by all threads, with a little jitter so they do not return in lockstep.
            self._pause_all(retry_after + random.uniform(0, 0.1 * max(retry_after, 1.0)))
            self._wait_for_pause()
            return
        self._sleep(min(30.0, 0.5 * (2 ** attempt)) * random.uniform(0.5, 1.0))

    # Requests --------------------------------------------------------------------------------

    def request(self, method, path, params=None, body=None, recheck=None, sizes=None):
        """Send one API request with retries and return the decoded JSON (None for an empty body).

        sizes, a list, gets the size in bytes of the answer used.

        GET and DELETE are retried on 429, 5xx and connection errors. Other methods are retried
        only when the request certainly did not reach the API (429, connection refused); after a
        failure that may have applied the write, recheck() is called to read the state again: it
        returns the result to adopt, or None when the write did not happen and may be sent again.
        Without recheck, such a failure is raised with maybe_applied set.
        """
        method = method.upper()
        url = self.url(path)
        shown_path = _path_of(url)
        self._check_destination(url, params, method, shown_path)
        repeatable = method in ('GET', 'HEAD', 'DELETE')
        attempt = 0
        while True:
            self._wait_for_pause()
            problem = None
            retry_after = None
            maybe_applied = False
            watchdog = _Watchdog(self.timeout)
            try:
                with watchdog:
                    # No redirect is ever followed: the request carries the token, and a POST would turn into a GET.
                    response = self.session.request(method, url, params=params, json=body, timeout=self.timeout, verify=self.verify,
                                                    allow_redirects=False, stream=True)
                    content = _read_body(response)
                    if watchdog.expired:
                        # The watchdog cut a close-delimited answer short: what was read is not the whole answer.
                        raise requests.exceptions.ReadTimeout('api_timeout passed while the answer was read')
            except requests.exceptions.RequestException as exc:
                maybe_applied = not _never_reached_server(exc)
                if watchdog.expired or isinstance(exc, Timeout):
                    problem = VpsorgApiError(
                        '%s %s failed: no answer within %s seconds (api_timeout)' % (method, shown_path, self.timeout),
                        code='timeout', method=method, path=shown_path, maybe_applied=maybe_applied)
                elif isinstance(exc, SSLError):
                    raise VpsorgApiError(
                        self.redact('%s %s failed: TLS certificate verification failed for %s (%s); '
                                    'use validate_certs: false only for a test API with a self-signed certificate'
                                    % (method, shown_path, self.api_url, _short_exception(exc, self.redact))),
                        code='tls_error', method=method, path=shown_path)
                else:
                    problem = VpsorgApiError(
                        self.redact('%s %s failed: cannot reach the API at %s: %s'
                                    % (method, shown_path, self.api_url, _short_exception(exc, self.redact))),
                        code='connection_error', method=method, path=shown_path, maybe_applied=maybe_applied)
            else:
                if content is None:
                    raise VpsorgApiError('%s %s failed: HTTP %s with an answer larger than %d MB'
                                         % (method, shown_path, response.status_code, MAX_ANSWER_BYTES // (1024 * 1024)),
                                         code='bad_response', status=response.status_code, method=method, path=shown_path,
                                         maybe_applied=not repeatable)
                response._content = content  # pylint: disable=protected-access
                if 300 <= response.status_code < 400:
                    raise self._redirect_error(response, method, shown_path, repeatable)
                if response.status_code < 400:
                    if sizes is not None:
                        sizes.append(len(content))
                    return self._decode(response, method, shown_path)
                problem = VpsorgApiError(
                    '%s %s failed: HTTP %s: %s'
                    % (method, shown_path, response.status_code, _one_line(self.redact(describe_error_body(response, self.redact)))),
                    status=response.status_code, method=method, path=shown_path,
                    maybe_applied=response.status_code >= 500)
                if response.status_code == 429:
                    retry_after = _retry_after_seconds(response)
                elif response.status_code < 500:
                    raise problem

            if problem.maybe_applied and not repeatable:
                if recheck is None:
                    problem.message += ' (the request may have been applied; check the state before repeating it)'
                    raise problem
                adopted = recheck()
                if adopted is not None:
                    return adopted
            if attempt >= self.retries:
                if self.retries:
                    problem.message += ' (gave up after %d attempts)' % (attempt + 1)
                raise problem
            self._backoff(attempt, retry_after)
            attempt += 1

    def _check_destination(self, url, params, method, shown_path):
        """Refuse to send the token anywhere but the configured API, as requests and urllib3 read the URL."""
        prepared = requests.models.PreparedRequest()
        try:
            prepared.prepare_url(url, params)
            origin = _lib_origin(prepared.url)
        except (requests.exceptions.RequestException, LocationParseError, ValueError):
            origin = None
        if origin != self._lib_origin[:3] + (None,) or _AMBIGUOUS_URL_CHARS.search(url):
            raise VpsorgApiError('%s %s failed: refusing to send the API token to a URL outside %s'
                                 % (method, _one_line(shown_path, 100), self.api_url), code='unsafe_link', method=method, path=shown_path)

    def _redirect_error(self, response, method, shown_path, repeatable):
        location = _one_line(self.redact(response.headers.get('Location') or '(no Location)'), 200)
        hint = ''
        if self.api_url.startswith('http://') and location.startswith('https://'):
            hint = '; the API wants HTTPS: set api_url to %s' % ('https://' + self.api_url[len('http://'):])
        return VpsorgApiError(
            '%s %s failed: HTTP %s redirect to %s: not followed, since the request carries the API token%s'
            % (method, shown_path, response.status_code, location, hint),
            code='redirect', status=response.status_code, method=method, path=shown_path, maybe_applied=not repeatable)

    def _decode(self, response, method, shown_path):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise VpsorgApiError(
                '%s %s failed: HTTP %s with a non-JSON answer: %s'
                % (method, shown_path, response.status_code, _first_line(self.redact(response.text))),
                code='bad_response', status=response.status_code, method=method, path=shown_path)

    def get(self, path, params=None, sizes=None):
        return self.request('GET', path, params=params, sizes=sizes)

    def post(self, path, body=None, recheck=None):
        return self.request('POST', path, body=body, recheck=recheck)

    def delete(self, path):
        return self.request('DELETE', path)

    def list_all(self, path, params=None, in_order=None):
        """Every item of a DRF-paginated list, read again while other runs change it.

        A `next` link is followed only by its path and query, on the configured API. A pass over the pages is
        used only when the list did not change under it (its count stayed, no later page vanished, the ids add
        up to the count) and, when in_order(items) is given, it is one page or in that order: in any other order
        an item created meanwhile lands among the pages and can push one out of reach while the ids still add
        up. Otherwise the list is read again from its first page, at most LIST_PASSES times, and then the read
        fails rather than return a list that may miss an item.
        """
        query = dict(params or {})
        query.setdefault('page_size', PAGE_SIZE)
        for dummy in range(LIST_PASSES):
            items, settled, pages_read = self._read_pages(path, query)
            if settled and (in_order is None or pages_read == 1 or in_order(items)):
                return list(dict((item['id'], item) for item in reversed(items)).values())[::-1]
        shown = _path_of(self.url(path))
        raise VpsorgApiError('GET %s failed: the list changed under each of %d reads (or was not in order); try again later'
                             % (shown, LIST_PASSES), code='bad_response', method='GET', path=shown)

    def _read_pages(self, path, query):
        """One pass over the pages: (items, settled, pages read), settled false when the list changed during the pass."""
        items = []
        first_count = None
        index = -1
        for index, page in enumerate(self.pages(path, query)):
            if page is None:
                return items, False, index  # a page vanished because items were deleted meanwhile: read again
            if index == 0:
                first_count = page['count']
            items.extend(page['results'])
            if page['count'] != first_count:
                return items, False, index + 1
        return items, adds_up(items, first_count), index + 1

    def _list_bound_problem(self, items, count, size, seconds):
        """Why a list read must stop (its items past the first page's count and a margin, its bytes or its seconds past the caps), or None."""
        if count is not None and items > count + max(LIST_MARGIN, count // 10):
            return 'its pages went on past its count: %d items read, where the first page counted %d' % (items, count)
        if size > MAX_LIST_BYTES:
            return 'its pages add up to more than %d MB' % (MAX_LIST_BYTES // (1024 * 1024))
        if seconds > self.list_seconds:
            return 'reading its pages took more than %d seconds' % self.list_seconds
        return None

    def pages(self, path, query):
        """The pages of a list, one at a time, as dict(results, count, next), so a reader may stop early.

        A later page that is gone (404: items were deleted meanwhile) is yielded as None, and ends the pages.
        A read that goes past the first page's count (plus a margin), MAX_LIST_BYTES or list_seconds fails
        with bad_response.
        """
        shown_path = _path_of(self.url(path))
        started = time.monotonic()
        sizes = []
        data = self.get(path, params=query, sizes=sizes)
        seen = set()
        items = 0
        count = None
        for index in range(MAX_PAGES):
            page = check_page(data, ('GET', shown_path))
            items += len(page['results'])
            count = page['count'] if index == 0 else count
            problem = self._list_bound_problem(items, count, sum(sizes), time.monotonic() - started)
            if problem:
                raise bad_response(('GET', shown_path), problem)
            yield page
            if not page['next']:
                return
            problem = _link_problem(page['next'], self._lib_origin, self._base_path)
            if problem:
                # The token goes only to the configured API, and only under its path.
                raise VpsorgApiError(
                    'GET %s failed: the API answered with a next-page link that %s; refusing to send the API token there'
                    % (shown_path, problem), code='unsafe_link', method='GET', path=shown_path)
            parts = urlsplit(page['next'])
            next_url = self._origin_url + parts.path + ('?' + parts.query if parts.query else '')
            if next_url in seen:
                return
            seen.add(next_url)
            try:
                data = self.get(next_url, sizes=sizes)
            except VpsorgApiError as exc:
                if exc.status != 404:
                    raise
                yield None
                return


def adds_up(items, count):
    """Whether a whole read holds as many distinct items as the list's count: items that shifted between pages
    show up twice or not at all, and then the ids do not add up."""
    return count is None or len(set(item['id'] for item in items)) == count


def check_page(data, request):
    """A list answer as dict(results, count, next), or VpsorgApiError(bad_response) naming what is wrong.

    A bare JSON list counts as one page of results; every result must be an object with an integer id.
    """
    if isinstance(data, list):
        data = dict(results=data, count=None, next=None)
    if not isinstance(data, dict) or not isinstance(data.get('results'), list):
        raise bad_response(request, 'the answer is not a list of results')
    problem = None
    if not all(isinstance(item, dict) for item in data['results']):
        problem = 'a result that is not an object'
    elif not all(is_id(item.get('id')) for item in data['results']):
        problem = 'a result without an integer id'
    elif data.get('count') is not None and not is_id(data['count'], 0):
        problem = 'a count that is not a number'
    elif data.get('next') is not None and not isinstance(data['next'], str):
        problem = 'a next-page link that is not a string'
    if problem:
        raise bad_response(request, 'the answer has %s' % problem)
    return dict(results=data['results'], count=data.get('count'), next=data.get('next'))


def shown_path(client, path):
    """The path of an API request as messages show it, say /api/v1/snapshots/."""
    return _path_of(client.url(path))


def bad_response(request, problem):
    """VpsorgApiError(bad_response) for an answer to request, (method, shown path) or a line, that cannot be used."""
    method, path = request if isinstance(request, tuple) else (None, None)
    line = '%s %s' % (method, path) if method else request
    return VpsorgApiError('%s failed: %s' % (line, problem), code='bad_response', method=method, path=path)


def is_id(value, minimum=1):
    """True for an integer the API can mean as an id (a JSON boolean is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_ID


def _short_exception(exc, redact=str):
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


def client_for(params):
    """Build the client from a module's connection options; raises VpsorgApiError (config_error) on bad settings."""
    if not HAS_REQUESTS:
        raise VpsorgApiError(missing_required_lib('requests'), code=CONFIG_ERROR, results=dict(exception=REQUESTS_IMPORT_ERROR))
    return build_client(params['api_url'], params['api_token'], params['validate_certs'], params['api_timeout'], params['api_retries'])


def build_client(api_url, api_token, validate_certs=True, api_timeout=30, api_retries=5):
    """Check the connection settings locally, before any request, and build the client."""
    if not api_token or not api_token.strip():
        raise VpsorgApiError('no API token: set api_token, or the VPSORG_API_TOKEN environment variable', code='config_error')
    if any(char.isspace() for char in api_token.strip()) or not all(32 < ord(char) < 127 for char in api_token.strip()):
        raise VpsorgApiError('api_token must be one word of printable ASCII characters', code='config_error')
    url = (api_url or '').strip()
    problem = api_url_problem(url)
    if problem:
        # The URL is shown without its user information, which may be a password.
        shown = re.sub(r'//[^/?#]*@', '//%s@' % REDACTED, _one_line(url, 200)).replace(api_token.strip(), REDACTED)
        raise VpsorgApiError(problem % shown, code='config_error')
    problem = number_problem('api_timeout', api_timeout, 1, MAX_API_TIMEOUT) or number_problem('api_retries', api_retries, 0, MAX_API_RETRIES)
    if problem:
        raise VpsorgApiError(problem, code='config_error')
    return VpsorgClient(url, api_token.strip(), validate_certs=validate_certs, timeout=api_timeout, retries=api_retries)


def api_url_problem(url):
    """What is wrong with an api_url, as a line with %s for the URL, or None.

    Only http or https, a host, an optional port and a plain path: no user information, query,
    fragment or dot segments, and nothing that Python's and urllib3's URL parsers read differently.
    """
    try:
        parts = urlsplit(url)
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        return "api_url has an invalid port: '%s'"
    if parts.scheme not in ('http', 'https') or not parts.hostname or _AMBIGUOUS_URL_CHARS.search(url):
        return "api_url must be an http:// or https:// URL such as " + DEFAULT_API_URL + ", without spaces or backslashes, got '%s'"
    if '@' in parts.netloc:
        return "api_url must not contain a user name or password (the token goes in api_token), got '%s'"
    if '?' in url or '#' in url:
        return "api_url must not contain a query string or a fragment, got '%s'"
    if _dot_segments(parts.path) or '//' in parts.path:
        return "api_url must not contain '.', '..' or empty path segments, got '%s'"
    try:
        scheme, host, port = _lib_origin(url)[:3]
        # urllib3 keeps an IPv6 address in its brackets, urlsplit drops them.
        if (scheme, host.strip('[]'), port) != (parts.scheme, parts.hostname.lower(), parts.port or {'http': 80, 'https': 443}[parts.scheme]):
            return "api_url is read differently by the HTTP library, got '%s'"
    except LocationParseError:
        return "api_url is not a valid URL, got '%s'"
    return None


def number_problem(option, value, minimum, maximum):
    """What is wrong with a whole-number option, or None (a boolean is not a number)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return '%s must be a whole number, got %s' % (option, _one_line(value, 40))
    if value < minimum:
        return '%s must be %s, got %s' % (option, 'zero or more' if minimum == 0 else 'a positive number of seconds', value)
    if value > maximum:
        return '%s must be at most %d, got %s' % (option, maximum, value)
    return None
