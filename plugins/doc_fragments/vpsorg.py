# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - The VPS.org API token, sent in the C(Authorization) header as a Bearer token.
      - If not set, the environment variable E(VPSORG_API_TOKEN) is used, then E(VPS_API_TOKEN).
      - Required in the end. It is never printed, logged or returned. A C(~/.netrc) entry never replaces it,
        since C(.netrc) is not read.
    type: str
  api_url:
    description:
      - Base URL of the VPS.org API, including the C(/api/v1) path.
      - Only C(http) or C(https), a host, an optional port and a path; a user name or password, a query
        string, a fragment or C(.)/C(..) path segments are refused before any request.
      - If not set, the environment variable E(VPSORG_API_URL) is used, then E(VPS_API_URL).
      - Point it at the local emulator (C(tests/emulator/emulator.py)) to try playbooks offline.
      - Proxies are taken from the environment (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)). With an C(http)
        URL behind an C(http) proxy, that proxy sees every request, the token included; use C(https).
    type: str
    default: https://admin.vps.org/api/v1
  validate_certs:
    description:
      - Whether the module verifies the TLS certificate of the API.
      - Set this to V(false) only for a test API with a self-signed certificate.
    type: bool
    default: true
  api_timeout:
    description:
      - Seconds one attempt of an HTTP request may take in total, from connecting to the last byte of the
        answer, before it is given up (also when the server sends its answer a byte at a time).
      - From 1 to 3600.
      - One request takes at most (O(api_retries) + 1) x O(api_timeout) seconds plus the waits between
        attempts (at most 30 seconds each, or the server's C(Retry-After), capped at 120 seconds plus up to 10%).
    type: int
    default: 30
  api_retries:
    description:
      - How many times a request is retried after HTTP 429, a 5xx answer or a connection error; from 0 to 100.
      - Waits between retries grow exponentially with jitter and honour the C(Retry-After) header.
      - A create or restore that may already have reached the API is never blindly repeated; the
        snapshot list is read again first.
    type: int
    default: 5
notes:
  - All API requests are made from the host the module runs on, usually the controller
    (C(delegate_to=localhost)).
requirements:
  - requests
"""
