# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_command: ansible.builtin.command with argv, run in the controller.

For the processes that the integration targets start and check (ansible-playbook, ansible-inventory, helper scripts;
about 70 per ansible-core version): ansible.builtin.command would start a module process of about 0.25 CPU-seconds
for each, on top of the process itself. This plugin starts the same process from the controller. See
controller_uri.py.

Options (as command's): argv (required, a list; unlike command, no $VAR or ~ in it is expanded), chdir, stdin (a
newline is added, as command's stdin_add_newline does). The task's `environment:` applies, as it does to a module.
Returns (as command's): rc, stdout, stderr (each without its trailing newline), stdout_lines, stderr_lines, cmd,
changed (true), and failed with msg "non-zero return code" when rc is not 0. In check mode it runs nothing and is
skipped. It returns when the process has exited AND closed its output: a process that leaves a daemon behind must
send the daemon's output elsewhere (as tests/emulator/harness.py start does), or use ansible.builtin.command with async.
"""

from __future__ import annotations

import os
import subprocess

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = False
    _supports_async = False

    _VALID_ARGS = frozenset(('argv', 'chdir', 'stdin'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        argv = args.get('argv')
        if not isinstance(argv, list) or not argv:
            return dict(result, failed=True, msg='controller_command needs argv, a list')
        argv = [to_text(word) for word in argv]
        environment = {}
        self._compute_environment_string(environment)
        env = dict(os.environ)
        env.update((to_text(key), to_text(value)) for key, value in environment.items())
        stdin = args.get('stdin')
        data = None if stdin is None else to_bytes(to_text(stdin) + '\n', errors='surrogate_or_strict')
        try:
            done = subprocess.run(argv, input=data, stdin=None if data is not None else subprocess.DEVNULL, capture_output=True,
                                  env=env, cwd=args.get('chdir') or None, check=False)
        except OSError as error:
            return dict(result, failed=True, rc=2, cmd=argv, msg='Cannot run %s: %s' % (argv[0], error))
        stdout = to_text(done.stdout, errors='surrogate_or_replace').rstrip('\r\n')
        stderr = to_text(done.stderr, errors='surrogate_or_replace').rstrip('\r\n')
        result.update(changed=True, rc=done.returncode, cmd=argv, stdout=stdout, stderr=stderr,
                      stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines())
        if done.returncode != 0:
            result.update(failed=True, msg='non-zero return code')
        return result
