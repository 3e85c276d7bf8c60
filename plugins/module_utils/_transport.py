# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client of the collection: every module, the role and the inventory plugin go through it.

Private to vpsorg.cloud: may change without notice; other collections must not import it.

It owns the session and the Bearer token (pinned to the configured API's origin), one attempt under its
watchdog (_watchdog.py), the classification of what an attempt got, retries (with Retry-After and jittered
exponential backoff, shared by every thread that uses the client) and readable one-line messages that never
contain the token. It knows nothing of lists (_pages.py), snapshots or fleets.
Imports _errors.py, _urls.py and _watchdog.py only.
"""

import email.utils
import random
import re
import threading
import time
from urllib.parse import urlsplit

# The request code below spells its error codes as literals; each is a value of _errors.ERROR_CODES.
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._urls import (
    AMBIGUOUS_URL_CHARS, REDACTED, LocationParseError, lib_origin, link_problem, one_line, path_of)
from ansible_collections.vpsorg.cloud.plugins.module_utils._watchdog import (
    MAX_ANSWER_BYTES, DeadlineAdapter, Watchdog, never_reached_server, read_body, short_exception)

try:
    import requests
    from requests.exceptions import SSLError, Timeout
except ImportError:
    pass  # _connection.client_for reports the missing library before a client is built

# The User-Agent's version. Modules run from an AnsiballZ zip that holds only the module_utils, so
# galaxy.yml is not there to read: tests/unit/plugins/module_utils/test__transport.py keeps the two equal.
COLLECTION_VERSION = '1.0.0'
# Never sleep longer than this for one Retry-After, whatever the server says.
MAX_RETRY_AFTER = 120.0
# The least time one whole list read (all its pages, with their retries) may take: see _pages.walk.
LIST_SECONDS = 900


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


class _Retry(Exception):
    """A failed attempt that another attempt may fix: problem is what to raise when no attempt is left."""

    def __init__(self, problem, retry_after=None):
        super().__init__(str(problem))
        self.problem, self.retry_after = problem, retry_after


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
        self._lib_origin = lib_origin(self.api_url)
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
        adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=32)
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

    def shown_path(self, path):
        """The path of an API request as messages show it, say /api/v1/snapshots/."""
        return path_of(self.url(path))

    def next_page_url(self, link, shown_path):
        """The URL a list's next-page link leads to on the configured API; unsafe_link when it leads elsewhere.

        A link is followed only by its path and query: the token goes only to the configured API, and only under its path.
        """
        problem = link_problem(link, self._lib_origin, self._base_path)
        if problem:
            raise VpsorgApiError(
                'GET %s failed: the API answered with a next-page link that %s; refusing to send the API token there'
                % (shown_path, problem), code='unsafe_link', method='GET', path=shown_path)
        parts = urlsplit(link)
        return self._origin_url + parts.path + ('?' + parts.query if parts.query else '')

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
        shown = path_of(url)
        self._check_destination(url, params, method, shown)
        repeatable = method in ('GET', 'HEAD', 'DELETE')
        attempt = 0
        while True:
            self._wait_for_pause()
            try:
                return self._classify(self._attempt(method, url, shown, params, body), method, shown, repeatable, sizes)
            except _Retry as retry:
                problem, retry_after = retry.problem, retry.retry_after
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

    def _attempt(self, method, url, shown, params, body):
        """One attempt under its watchdog: the answer with its whole body read (None when too large), or _Retry."""
        watchdog = Watchdog(self.timeout)
        try:
            with watchdog:
                # No redirect is ever followed: the request carries the token, and a POST would turn into a GET.
                response = self.session.request(method, url, params=params, json=body, timeout=self.timeout, verify=self.verify,
                                                allow_redirects=False, stream=True)
                content = read_body(response, MAX_ANSWER_BYTES)
                if watchdog.expired:
                    # The watchdog cut a close-delimited answer short: what was read is not the whole answer.
                    raise requests.exceptions.ReadTimeout('api_timeout passed while the answer was read')
        except requests.exceptions.RequestException as exc:
            maybe_applied = not never_reached_server(exc)
            if watchdog.expired or isinstance(exc, Timeout):
                raise _Retry(VpsorgApiError(
                    '%s %s failed: no answer within %s seconds (api_timeout)' % (method, shown, self.timeout),
                    code='timeout', method=method, path=shown, maybe_applied=maybe_applied))
            if isinstance(exc, SSLError):
                raise VpsorgApiError(
                    self.redact('%s %s failed: TLS certificate verification failed for %s (%s); '
                                'use validate_certs: false only for a test API with a self-signed certificate'
                                % (method, shown, self.api_url, short_exception(exc, self.redact))),
                    code='tls_error', method=method, path=shown)
            raise _Retry(VpsorgApiError(
                self.redact('%s %s failed: cannot reach the API at %s: %s'
                            % (method, shown, self.api_url, short_exception(exc, self.redact))),
                code='connection_error', method=method, path=shown, maybe_applied=maybe_applied))
        response._content = content  # pylint: disable=protected-access
        return response

    def _classify(self, response, method, shown, repeatable, sizes):
        """What an answer means: its decoded JSON, an error to raise, or _Retry (429 and 5xx)."""
        if response.content is None:
            raise VpsorgApiError('%s %s failed: HTTP %s with an answer larger than %d MB'
                                 % (method, shown, response.status_code, MAX_ANSWER_BYTES // (1024 * 1024)),
                                 code='bad_response', status=response.status_code, method=method, path=shown,
                                 maybe_applied=not repeatable)
        if 300 <= response.status_code < 400:
            raise self._redirect_error(response, method, shown, repeatable)
        if response.status_code < 400:
            if sizes is not None:
                sizes.append(len(response.content))
            return self._decode(response, method, shown)
        problem = VpsorgApiError(
            '%s %s failed: HTTP %s: %s'
            % (method, shown, response.status_code, one_line(self.redact(describe_error_body(response, self.redact)))),
            status=response.status_code, method=method, path=shown, maybe_applied=response.status_code >= 500)
        if response.status_code == 429:
            raise _Retry(problem, _retry_after_seconds(response))
        if response.status_code < 500:
            raise problem
        raise _Retry(problem)

    def _check_destination(self, url, params, method, shown):
        """Refuse to send the token anywhere but the configured API, as requests and urllib3 read the URL."""
        prepared = requests.models.PreparedRequest()
        try:
            prepared.prepare_url(url, params)
            origin = lib_origin(prepared.url)
        except (requests.exceptions.RequestException, LocationParseError, ValueError):
            origin = None
        if origin != self._lib_origin[:3] + (None,) or AMBIGUOUS_URL_CHARS.search(url):
            raise VpsorgApiError('%s %s failed: refusing to send the API token to a URL outside %s'
                                 % (method, one_line(shown, 100), self.api_url), code='unsafe_link', method=method, path=shown)

    def _redirect_error(self, response, method, shown, repeatable):
        location = one_line(self.redact(response.headers.get('Location') or '(no Location)'), 200)
        hint = ''
        if self.api_url.startswith('http://') and location.startswith('https://'):
            hint = '; the API wants HTTPS: set api_url to %s' % ('https://' + self.api_url[len('http://'):])
        return VpsorgApiError(
            '%s %s failed: HTTP %s redirect to %s: not followed, since the request carries the API token%s'
            % (method, shown, response.status_code, location, hint),
            code='redirect', status=response.status_code, method=method, path=shown, maybe_applied=not repeatable)

    def _decode(self, response, method, shown):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except (ValueError, RecursionError):
            raise VpsorgApiError(
                '%s %s failed: HTTP %s with a non-JSON answer: %s'
                % (method, shown, response.status_code, _first_line(self.redact(response.text))),
                code='bad_response', status=response.status_code, method=method, path=shown)

    def get(self, path, params=None, sizes=None):
        return self.request('GET', path, params=params, sizes=sizes)

    def post(self, path, body=None, recheck=None):
        return self.request('POST', path, body=body, recheck=recheck)

    def delete(self, path):
        return self.request('DELETE', path)
