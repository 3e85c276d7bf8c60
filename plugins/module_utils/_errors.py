# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error vocabulary of the collection: every failure is a VpsorgApiError with a code from ERROR_CODES.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
What playbook authors may rely on is the `error` return value, documented in docs/errors.md.
"""

# Playbooks branch on these values: never change one, only add. docs/errors.md and the modules' RETURN
# list the same codes (tests/unit/plugins/module_utils/test__errors.py checks that they agree).
HTTP_ERROR = 'http_error'
CONNECTION_ERROR = 'connection_error'
TIMEOUT = 'timeout'
TLS_ERROR = 'tls_error'
BAD_RESPONSE = 'bad_response'
UNSAFE_LINK = 'unsafe_link'
REDIRECT = 'redirect'
CONFIG_ERROR = 'config_error'
INVALID_INPUT = 'invalid_input'
NOT_FOUND = 'not_found'
AMBIGUOUS = 'ambiguous'
SNAPSHOT_LIMIT = 'snapshot_limit'
IN_PROGRESS = 'in_progress'
SERVER_BUSY = 'server_busy'
WAIT_TIMEOUT = 'wait_timeout'
SNAPSHOT_GONE = 'snapshot_gone'
SNAPSHOT_FAILED = 'snapshot_failed'
SERVERS_FAILED = 'servers_failed'
RESTORE_FAILED = 'restore_failed'

ERROR_CODES = {
    HTTP_ERROR: 'the API answered with an HTTP error; error.status says which',
    CONNECTION_ERROR: 'the API could not be reached (refused, reset, DNS)',
    TIMEOUT: 'no answer within api_timeout seconds',
    TLS_ERROR: "the API's TLS certificate did not verify",
    BAD_RESPONSE: 'the API answered something that is not what it documents',
    UNSAFE_LINK: 'the API pointed to another host; the token is never sent there',
    REDIRECT: 'the API answered with a redirect, which is not followed with the token',
    CONFIG_ERROR: 'a connection option (api_url, api_token, api_timeout, api_retries) or a library is wrong or missing',
    INVALID_INPUT: 'a module option is invalid; refused before any request',
    NOT_FOUND: 'the snapshot or snapshot ids asked for do not exist in this account',
    AMBIGUOUS: 'several snapshots match; choose one with snapshot_id',
    SNAPSHOT_LIMIT: 'the server already has the most snapshots the API allows',
    IN_PROGRESS: 'the snapshot is still being taken and wait is false',
    SERVER_BUSY: 'the server is in a state that does not allow the action (say, already restoring)',
    WAIT_TIMEOUT: 'wait_timeout passed before the snapshot or server was ready',
    SNAPSHOT_GONE: 'a snapshot disappeared while it was waited for',
    SNAPSHOT_FAILED: 'a snapshot ended in a status other than completed',
    SERVERS_FAILED: 'with server_ids, some servers failed: failed_servers says which and why',
    RESTORE_FAILED: 'the server did not come back from the restore to the status it had before it (or active)',
}


class VpsorgApiError(Exception):
    """One readable line about a failure, with a code from ERROR_CODES.

    maybe_applied is true when a write may have reached the API although no answer came back.
    results are extra return values of the failed task (say, the server's snapshots at its quota);
    details are extra keys of its `error` (say, the quota's limit).
    """

    def __init__(self, message, code=HTTP_ERROR, status=None, method=None, path=None, maybe_applied=False, results=None, details=None):
        super().__init__(message)
        self.message, self.code = message, code
        # The request that failed, if one did: its answer's status, method and path.
        self.status, self.method, self.path = status, method, path
        self.maybe_applied = maybe_applied
        self.results = dict(results or {})
        self.details = dict(details or {})

    def __str__(self):
        return self.message

    def as_dict(self):
        """The task's `error` return value: the same keys on every failure."""
        error = dict(code=self.code, status=self.status, method=self.method, path=self.path)
        error.update(self.details)
        return error

    def failure(self):
        """Keyword arguments for fail_json: msg, error and the extra return values."""
        return dict(self.results, msg=self.message, error=self.as_dict())
