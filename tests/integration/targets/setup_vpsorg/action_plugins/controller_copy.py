# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_copy: ansible.builtin.copy with content, for the scratch files the integration targets write.

The targets write inventories, playbooks and marker files for the runs of ansible-playbook they start, always on the
controller (their one host, testhost, is local). ansible.builtin.copy runs two module processes for each file (a stat,
then the copy), about 0.45 CPU-seconds together; this plugin writes the file from the controller. See controller_uri.py.

Options (as copy's): dest (required), content (required), mode (an octal string such as "0644"; default 0644).
Unlike copy, it makes dest's directory when that is missing. In check mode it writes nothing and is skipped.
Returns dest and changed (whether the file's content or mode changed).
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = False
    _supports_async = False

    _VALID_ARGS = frozenset(('dest', 'content', 'mode'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        dest, content = args.get('dest'), args.get('content')
        if not dest or content is None:
            return dict(result, failed=True, msg='controller_copy needs dest and content')
        dest = os.path.expanduser(to_text(dest))
        # As copy does: a mapping or a list is written as JSON.
        data = to_bytes(content if isinstance(content, str) else json.dumps(content), errors='surrogate_or_strict')
        mode = int(str(args.get('mode', '0644')), 8)
        try:
            with open(dest, 'rb') as current:
                same = current.read() == data and (os.stat(dest).st_mode & 0o7777) == mode
        except OSError:
            same = False
        if not same:
            try:
                os.makedirs(os.path.dirname(dest) or '.', exist_ok=True)
                handle, path = tempfile.mkstemp(dir=os.path.dirname(dest) or '.', prefix='.controller_copy-')
                with os.fdopen(handle, 'wb') as new:
                    new.write(data)
                os.chmod(path, mode)
                os.replace(path, dest)
            except OSError as error:
                return dict(result, failed=True, dest=dest, msg='Cannot write %s: %s' % (dest, error))
        result.update(changed=not same, dest=dest)
        return result
