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
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# The User-Agent's version. Modules run from an AnsiballZ zip that holds only the module_utils, so
# galaxy.yml is not there to read: tests/unit/plugins/module_utils/test_api.py keeps the two equal.
COLLECTION_VERSION = '0.1.0'
DEFAULT_API_URL = 'https://admin.vps.org/api/v1'
# DRF-style APIs cap page_size at their maximum, so asking for a large page only saves requests.
PAGE_SIZE = 100
MAX_PAGES = 10000
# Never sleep longer than this for one Retry-After, whatever the server says.
MAX_RETRY_AFTER = 120.0
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


def _origin(url):
    parts = urlsplit(url)
    port = parts.port or {'http': 80, 'https': 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or '').lower(), port


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


def describe_error_body(response):
    """DRF `detail`, field errors as `field: message`, or the first line of a non-JSON body."""
    try:
        data = response.json()
    except ValueError:
        text = (response.text or '').strip()
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
        self._origin = _origin(self.api_url)
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0
        # Passed with every request: a session-wide setting would lose to REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.
        self.verify = validate_certs
        self.session = requests.Session()
        self.session.headers.update({
            'Authorization': 'Bearer %s' % api_token,
            'Accept': 'application/json',
            'Content-Type': 'application/json',
            'User-Agent': 'vpsorg.cloud/%s (Ansible collection)' % COLLECTION_VERSION,
        })
        # Threads of a fleet run share this session: give the pool room for all of them.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
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

    def request(self, method, path, params=None, body=None, recheck=None):
        """Send one API request with retries and return the decoded JSON (None for an empty body).

        GET and DELETE are retried on 429, 5xx and connection errors. Other methods are retried
        only when the request certainly did not reach the API (429, connection refused); after a
        failure that may have applied the write, recheck() is called to read the state again: it
        returns the result to adopt, or None when the write did not happen and may be sent again.
        Without recheck, such a failure is raised with maybe_applied set.
        """
        method = method.upper()
        url = self.url(path)
        shown_path = _path_of(url)
        repeatable = method in ('GET', 'HEAD', 'DELETE')
        attempt = 0
        while True:
            self._wait_for_pause()
            problem = None
            retry_after = None
            maybe_applied = False
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=self.timeout, verify=self.verify)
            except SSLError as exc:
                raise VpsorgApiError(
                    self.redact('%s %s failed: TLS certificate verification failed for %s (%s); '
                                'use validate_certs: false only for a test API with a self-signed certificate'
                                % (method, shown_path, self.api_url, _short_exception(exc))),
                    code='tls_error', method=method, path=shown_path)
            except Timeout as exc:
                maybe_applied = not _never_reached_server(exc)
                problem = VpsorgApiError(
                    '%s %s failed: no answer within %s seconds (api_timeout)' % (method, shown_path, self.timeout),
                    code='timeout', method=method, path=shown_path, maybe_applied=maybe_applied)
            except requests.exceptions.RequestException as exc:
                maybe_applied = not _never_reached_server(exc)
                problem = VpsorgApiError(
                    self.redact('%s %s failed: cannot reach the API at %s: %s'
                                % (method, shown_path, self.api_url, _short_exception(exc))),
                    code='connection_error', method=method, path=shown_path, maybe_applied=maybe_applied)
            else:
                if response.status_code < 400:
                    return self._decode(response, method, shown_path)
                problem = VpsorgApiError(
                    self.redact('%s %s failed: HTTP %s: %s' % (method, shown_path, response.status_code, describe_error_body(response))),
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

    def _decode(self, response, method, shown_path):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise VpsorgApiError(
                self.redact('%s %s failed: HTTP %s with a non-JSON answer: %s'
                            % (method, shown_path, response.status_code, _first_line(response.text))),
                code='bad_response', status=response.status_code, method=method, path=shown_path)

    def get(self, path, params=None):
        return self.request('GET', path, params=params)

    def post(self, path, body=None, recheck=None):
        return self.request('POST', path, body=body, recheck=recheck)

    def delete(self, path):
        return self.request('DELETE', path)

    def list_all(self, path, params=None):
        """Every item of a DRF-paginated list, following `next` only to the API's own origin."""
        query = dict(params or {})
        query.setdefault('page_size', PAGE_SIZE)
        data = self.get(path, params=query)
        items = []
        seen = set()
        for dummy in range(MAX_PAGES):
            if isinstance(data, list):
                return items + data
            if not isinstance(data, dict) or not isinstance(data.get('results'), list):
                raise VpsorgApiError('GET %s failed: the answer is not a list of results' % _path_of(self.url(path)),
                                     code='bad_response', method='GET', path=path)
            items.extend(data['results'])
            next_url = data.get('next')
            if not next_url:
                return items
            if _origin(next_url) != self._origin:
                # The token goes only to the configured API, never to a host named in an answer.
                raise VpsorgApiError(
                    'GET %s failed: the API answered with a next-page link to another host (%s://%s:%s); '
                    'refusing to send the API token there' % ((_path_of(self.url(path)),) + _origin(next_url)),
                    code='unsafe_link', method='GET', path=path)
            if next_url in seen:
                return items
            seen.add(next_url)
            data = self.get(next_url)
        return items


def _short_exception(exc):
    """The innermost reason of a requests exception, without urllib3's pool and object wording."""
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
    return text[:200]


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
    parts = urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise VpsorgApiError("api_url must be an http:// or https:// URL such as %s, got '%s'"
                             % (DEFAULT_API_URL, url.replace(api_token.strip(), REDACTED)), code='config_error')
    try:
        parts.port
    except ValueError:
        raise VpsorgApiError("api_url has an invalid port: '%s'" % url.replace(api_token.strip(), REDACTED), code='config_error')
    if api_timeout is None or api_timeout <= 0:
        raise VpsorgApiError('api_timeout must be a positive number of seconds, got %s' % api_timeout, code='config_error')
    if api_retries is None or api_retries < 0:
        raise VpsorgApiError('api_retries must be zero or more, got %s' % api_retries, code='config_error')
    return VpsorgClient(url, api_token.strip(), validate_certs=validate_certs, timeout=api_timeout, retries=api_retries)
