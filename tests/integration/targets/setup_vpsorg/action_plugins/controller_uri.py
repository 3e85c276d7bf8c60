# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_uri: the part of ansible.builtin.uri that the integration targets use, run in the controller.

For the tests' own calls: the emulator's control API (reset, seed, faults, state, the request log) and a few direct
reads of the API. ansible.builtin.uri starts a module process for every call, about 0.25 CPU-seconds each (it compiles
ansible.module_utils.basic anew every time); the targets make about 300 such calls per ansible-core version, which
is most of what make test could not afford. This plugin makes the same HTTP request from the controller.

Options (as uri's): url (required), method (GET), body (sent as JSON when body_format is json, else as is),
body_format (json or raw), headers, status_code (an int or a list, default 200), validate_certs (true), timeout (30).
Returns (as uri's): status, url, content, json (when the answer is JSON), msg. Fails when the status is not one of
status_code, or when no answer came. Never changes anything the play manages: changed is always false.
Available to every target that depends on setup_vpsorg (meta/main.yml), and to the tasks after an include of it.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    _VALID_ARGS = frozenset(('url', 'method', 'body', 'body_format', 'headers', 'status_code', 'validate_certs', 'timeout'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url = args.get('url')
        if not url:
            return dict(result, failed=True, msg='controller_uri needs url')
        method = str(args.get('method', 'GET')).upper()
        headers = dict(args.get('headers') or {})
        data = None
        if 'body' in args:
            if args.get('body_format', 'raw') == 'json':
                data = json.dumps(args['body']).encode('utf-8')
                headers.setdefault('Content-Type', 'application/json')
            else:
                data = to_text(args['body']).encode('utf-8')
        wanted = args.get('status_code', [200])
        wanted = [int(code) for code in (wanted if isinstance(wanted, list) else [wanted])]
        context = None
        if str(url).startswith('https://') and not bool(args.get('validate_certs', True)):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(str(url), data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=float(args.get('timeout', 30)), context=context) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            return dict(result, failed=True, changed=False, status=-1, url=url, msg='Request failed: %s' % error)
        content = to_text(body, errors='surrogate_or_replace')
        result.update(changed=False, status=status, url=url, content=content, msg='OK (%d bytes)' % len(body))
        if content:
            try:
                result['json'] = json.loads(content)
            except ValueError:
                pass
        if status not in wanted:
            result.update(failed=True, msg='Status code was %d and not %s: %s' % (status, wanted, content[:300]))
        return result
