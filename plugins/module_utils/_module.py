# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module base: the connection options, the option rules, the result and diff, and the one fail and exit.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
A module gives VpsorgModule its own options, the rules argument_spec can declare, and one validator for the rest;
its states are functions of the module that return (result, diff, failure or None). Imports _errors.py, _answers.py and
_connection.py only.
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import is_id
from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import client_for, connection_spec
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import INVALID_INPUT, VpsorgApiError

# \Z, not $: a name with a trailing newline must not pass.
NAME_PATTERN = re.compile(r'[A-Za-z0-9_-]+\Z')


def shown_id(value):
    """An id option's value as the user wrote it: booleans and ids too large for the API say so."""
    if isinstance(value, bool):
        return '%s (a boolean)' % str(value).lower()
    if isinstance(value, int) and value > 0:
        return '%d (more than 2^63 - 1)' % value
    return str(value)


def common_problems(params):
    """The checks argument_spec cannot declare that both modules share (the name rule, ids, wait_timeout)."""
    problems = []
    if params.get('name') is not None and not NAME_PATTERN.match(params['name']):
        shown = re.sub(r'[\x00-\x1f\x7f]', lambda char: '\\x%02x' % ord(char.group()), params['name'])
        problems.append("name '%s' is invalid: use only letters, digits, hyphens and underscores" % shown)
    for option in ('server_id', 'snapshot_id'):
        if params.get(option) is not None and not is_id(params[option]):
            problems.append('%s must be a positive integer, got %s' % (option, shown_id(params[option])))
    for option in ('server_ids', 'snapshot_ids'):
        bad = [value for value in params.get(option) or [] if not is_id(value)]
        if bad:
            problems.append('%s must be positive integers, got %s' % (option, ', '.join(shown_id(value) for value in bad)))
    if params.get('wait_timeout') is not None and params['wait_timeout'] < 0:
        problems.append('wait_timeout must be zero or more seconds, got %s' % params['wait_timeout'])
    return problems


def check_options(params, problems=()):
    """The shared checks and a module's own lines (problems), before any request: one invalid_input error, one line."""
    problems = common_problems(params) + list(problems)
    if problems:
        raise VpsorgApiError('; '.join(problems), code=INVALID_INPUT)


class VpsorgModule:
    """An AnsibleModule with the connection options, one validator, and the one fail and exit.

    validator(params) returns the module's own problem lines (after the shared ones). run(state) checks the options,
    builds the client, calls state(self) for (result, diff, failure) and exits, or fails with failure (a VpsorgApiError
    that gets the result as its return values); any VpsorgApiError fails the task, one line.
    """

    def __init__(self, options, validator=None, **rules):
        argument_spec = connection_spec()
        argument_spec.update(options)
        self.ansible = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **rules)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.validator = validator
        self.client = None

    def warn(self, message):
        self.ansible.warn(message)

    def run(self, state):
        try:
            check_options(self.params, self.validator(self.params) if self.validator else ())
            self.client = client_for(self.params)
            result, diff, failure = state(self)
            if self.ansible._diff and diff is not None:  # pylint: disable=protected-access
                result['diff'] = diff
            if failure is not None:
                failure.results.update(result)
                raise failure
        except VpsorgApiError as exc:
            self.ansible.fail_json(**exc.failure())
        self.ansible.exit_json(**result)
