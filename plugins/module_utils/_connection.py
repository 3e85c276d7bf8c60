# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection options (doc fragment vpsorg.cloud.vpsorg), their rules, and the client they build.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
The modules (through _module.py) and the inventory plugin build their client here.
Imports _errors.py, _urls.py and _transport.py only.
"""

import re
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import CONFIG_ERROR, VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._transport import VpsorgClient
from ansible_collections.vpsorg.cloud.plugins.module_utils._urls import DEFAULT_API_URL, REDACTED, api_url_problem, one_line

try:
    import requests  # noqa: F401 pylint: disable=unused-import

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# Sanity bounds of the connection options: beyond them a setting is a typo, not a wish.
MAX_API_TIMEOUT = 3600
MAX_API_RETRIES = 100


def connection_spec():
    """The connection options shared by every module (doc fragment vpsorg.cloud.vpsorg)."""
    return dict(
        api_token=dict(type='str', no_log=True, fallback=(env_fallback, ['VPSORG_API_TOKEN', 'VPS_API_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['VPSORG_API_URL', 'VPS_API_URL'])),
        validate_certs=dict(type='bool', default=True),
        api_timeout=dict(type='int', default=30),
        api_retries=dict(type='int', default=5),
    )


def client_for(params):
    """Build the client from a module's connection options; raises VpsorgApiError (config_error) on bad settings."""
    if not HAS_REQUESTS:
        raise VpsorgApiError(missing_required_lib('requests'), code=CONFIG_ERROR, results=dict(exception=REQUESTS_IMPORT_ERROR))
    return build_client(params['api_url'], params['api_token'], params['validate_certs'], params['api_timeout'], params['api_retries'])


def build_client(api_url, api_token, validate_certs=True, api_timeout=30, api_retries=5):
    """Check the connection settings locally, before any request, and build the client."""
    if not api_token or not api_token.strip():
        raise VpsorgApiError('no API token: set api_token, or the VPSORG_API_TOKEN environment variable', code=CONFIG_ERROR)
    if any(char.isspace() for char in api_token.strip()) or not all(32 < ord(char) < 127 for char in api_token.strip()):
        raise VpsorgApiError('api_token must be one word of printable ASCII characters', code=CONFIG_ERROR)
    url = (api_url or '').strip()
    problem = api_url_problem(url)
    if problem:
        # The URL is shown without its user information, which may be a password.
        shown = re.sub(r'//[^/?#]*@', '//%s@' % REDACTED, one_line(url, 200)).replace(api_token.strip(), REDACTED)
        raise VpsorgApiError(problem % shown, code=CONFIG_ERROR)
    problem = number_problem('api_timeout', api_timeout, 1, MAX_API_TIMEOUT) or number_problem('api_retries', api_retries, 0, MAX_API_RETRIES)
    if problem:
        raise VpsorgApiError(problem, code=CONFIG_ERROR)
    return VpsorgClient(url, api_token.strip(), validate_certs=validate_certs, timeout=api_timeout, retries=api_retries)


def number_problem(option, value, minimum, maximum):
    """What is wrong with a whole-number option, or None (a boolean is not a number)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return '%s must be a whole number, got %s' % (option, one_line(value, 40))
    if value < minimum:
        return '%s must be %s, got %s' % (option, 'zero or more' if minimum == 0 else 'a positive number of seconds', value)
    if value > maximum:
        return '%s must be at most %d, got %s' % (option, maximum, value)
    return None
