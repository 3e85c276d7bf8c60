# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""URL safety: what the client lets into a URL, so that the token goes only to the configured API.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports nothing of the collection: every file may use it.
"""

import re
from urllib.parse import urlsplit

try:
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url
except ImportError:  # reported by _connection.client_for, which needs requests (and so urllib3) first
    LocationParseError = ValueError
    parse_url = None

DEFAULT_API_URL = 'https://admin.vps.org/api/v1'
# What the API says in an error is shown on one line of at most this many characters.
MAX_DETAIL_CHARS = 300
REDACTED = '********'
# Backslashes, spaces, control and non-ASCII characters are where URL parsers disagree.
AMBIGUOUS_URL_CHARS = re.compile(r'[^\x21-\x7e]|\\')


def path_of(url):
    """The path and query of url, as messages show a request."""
    parts = urlsplit(url)
    return parts.path + ('?' + parts.query if parts.query else '')


def one_line(text, limit=MAX_DETAIL_CHARS):
    """text on one line of at most limit characters, control characters shown as spaces."""
    line = ' '.join(re.sub(r'[\x00-\x1f\x7f]', ' ', str(text)).split())
    return line[:limit] + ('...' if len(line) > limit else '')


def lib_origin(url):
    """(scheme, host, port, userinfo) as urllib3, which sends the request, reads url."""
    parts = parse_url(url)
    scheme = (parts.scheme or '').lower()
    return scheme, (parts.host or '').lower(), parts.port or {'http': 80, 'https': 443}.get(scheme), parts.auth


def _dot_segments(path):
    return any(segment in ('.', '..') for segment in re.sub('%2e', '.', path, flags=re.IGNORECASE).split('/'))


def link_problem(link, api_origin, base_path):
    """Why a next-page link must not be followed, or None; api_origin as lib_origin gives it."""
    if not isinstance(link, str):
        return 'is not a string'
    if AMBIGUOUS_URL_CHARS.search(link):
        return 'contains a backslash, a space, a control or a non-ASCII character'
    try:
        parts = urlsplit(link)
        split_origin = (parts.scheme.lower(), (parts.hostname or '').lower(), parts.port)
        link_origin = lib_origin(link)
    except (ValueError, LocationParseError):
        return 'is not a valid URL'
    if '@' in parts.netloc or link_origin[3]:
        return 'carries user information'
    if parts.scheme or parts.netloc:
        # Both parsers must read the link as the API's own origin.
        split_origin = (split_origin[0], split_origin[1].strip('[]'), split_origin[2] or {'http': 80, 'https': 443}.get(split_origin[0]))
        if link_origin[:3] != api_origin[:3] or split_origin != (api_origin[0], api_origin[1].strip('[]'), api_origin[2]):
            return 'points to another host (%s://%s:%s)' % link_origin[:3]
    if not (parts.path == base_path or parts.path.startswith(base_path + '/')) or _dot_segments(parts.path):
        return 'points outside the API path %s' % (base_path or '/')
    return None


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
    if parts.scheme not in ('http', 'https') or not parts.hostname or AMBIGUOUS_URL_CHARS.search(url):
        return "api_url must be an http:// or https:// URL such as " + DEFAULT_API_URL + ", without spaces or backslashes, got '%s'"
    if '@' in parts.netloc:
        return "api_url must not contain a user name or password (the token goes in api_token), got '%s'"
    if '?' in url or '#' in url:
        return "api_url must not contain a query string or a fragment, got '%s'"
    if _dot_segments(parts.path) or '//' in parts.path:
        return "api_url must not contain '.', '..' or empty path segments, got '%s'"
    try:
        scheme, host, port = lib_origin(url)[:3]
        # urllib3 keeps an IPv6 address in its brackets, urlsplit drops them.
        if (scheme, host.strip('[]'), port) != (parts.scheme, parts.hostname.lower(), parts.port or {'http': 80, 'https': 443}[parts.scheme]):
            return "api_url is read differently by the HTTP library, got '%s'"
    except LocationParseError:
        return "api_url is not a valid URL, got '%s'"
    return None
