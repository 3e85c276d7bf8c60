# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The benchmarks' results: one Section per benchmark, printed as text and written to docs/performance.md."""

import datetime
import os
import platform
import re
import subprocess

from .harness import FORKS, REPO, find_ansible_playbook

PERFORMANCE_DOC = os.path.join(REPO, 'docs', 'performance.md')


class Section(object):
    """One benchmark's table, notes and target checks, printed and written to docs/performance.md."""

    def __init__(self, key, title, intro, columns):
        self.key = key
        self.title = title
        self.intro = intro
        self.columns = columns
        self.rows = []
        self.notes = []
        self.targets = []

    def add_row(self, *cells):
        self.rows.append([str(cell) for cell in cells])

    def add_target(self, name, measured, limit, passed):
        self.targets.append((name, measured, limit, 'pass' if passed else 'MISS'))

    def as_text(self):
        lines = ['', '== %s ==' % self.title, render_text_table(self.columns, self.rows)]
        lines.extend('  * ' + note for note in self.notes)
        lines.extend('  target %s: %s (limit %s) -> %s' % target for target in self.targets)
        return '\n'.join(lines)

    def as_markdown(self):
        lines = ['## %s' % self.title, '', self.intro, '', render_markdown_table(self.columns, self.rows), '']
        lines.extend('- ' + note for note in self.notes)
        return '\n'.join(lines).rstrip() + '\n'


def render_text_table(columns, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]
    lines = ['  '.join(cell.ljust(width) for cell, width in zip(columns, widths)),
             '  '.join('-' * width for width in widths)]
    lines.extend('  '.join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)
    return '\n'.join(lines)


def render_markdown_table(columns, rows):
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '|'.join('---' for dummy in columns) + '|']
    lines.extend('| ' + ' | '.join(cell.replace('|', '\\|') for cell in row) + ' |' for row in rows)
    return '\n'.join(lines)


def seconds(value):
    return '%.1f' % value


def ratio(value):
    return '%.2f' % value


def megabytes(kilobytes):
    return '%.0f' % (kilobytes / 1024.0) if kilobytes else 'n/a'


def requests_by_endpoint(counters):
    """The counters' endpoints, most requested first: 'POST snapshots/ 50, GET snapshots/ 12'."""
    counts = sorted(counters.get('by_endpoint', {}).items(), key=lambda item: -item[1])
    return ', '.join('%s %d' % (endpoint.replace('/api/v1/', ''), count) for endpoint, count in counts) or 'none'


def machine_description():
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as handle:
            model = next((line.split(':', 1)[1].strip() for line in handle if line.startswith('model name')), model)
    except OSError:
        pass
    nproc = subprocess.run(['nproc'], stdout=subprocess.PIPE, check=False).stdout.decode().strip() or str(os.cpu_count())
    memory = subprocess.run(['free', '-g'], stdout=subprocess.PIPE, check=False).stdout.decode().rstrip()
    ansible_version = subprocess.run([find_ansible_playbook(), '--version'], stdout=subprocess.PIPE, check=False).stdout.decode()
    core = re.search(r'\[core ([^\]]+)\]', ansible_version)
    commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            check=False).stdout.decode().strip() or 'unknown'
    return dict(nproc=nproc, model=model, memory=memory, python=platform.python_version(), commit=commit,
                ansible_core=core.group(1) if core else 'unknown', date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))


def write_performance_doc(sections, profile, machine, elapsed, benchmarks, floor_repeats):
    """The whole page, from a run of every benchmark."""
    targets = [target for section in sections for target in section.targets]
    lines = [
        '# Performance',
        '',
        'Written by `make bench` (`bench/`) on %s; the whole run took %.0f s. Run it again to refresh this page '
        '(it is generated: edit `bench/`, not this file).' % (machine['date'], elapsed),
        '',
        'Every benchmark starts its own API emulator (`tests/emulator/emulator.py`, default page size 20, maximum 100) and runs '
        'its alternatives back to back with `ansible-playbook`, resetting the emulator in between and reading the API request '
        'counts from `/_emulator/counters`. Inventories are N local hosts (`ansible_connection: local`, each with its own '
        '`vpsorg_server_id`), forks %d, `gather_facts: false`; API tasks run with `delegate_to: localhost` as they would against '
        'real servers. A snapshot takes T = %g s. Wall time is the whole `ansible-playbook` process; "floor" is the same inventory '
        'running one `ansible.builtin.debug` task (Ansible\'s own cost; the best of %d runs), so ratio = wall / (T + floor) is 1.0 '
        'for a run that adds nothing to the snapshot time and Ansible\'s own overhead. The machine is shared: each benchmark says '
        'how much CPU other processes took while it ran, and wall times (unlike the request counts) move with it.'
        % (FORKS, profile['snapshot_seconds'], floor_repeats),
        '',
        'Run it in a checkout of the repository (the benchmarks are not in the collection tarball): '
        '`make bench` (full run, rewrites this page), `make bench BENCH_ARGS=--quick` (small N, T = 2 s, prints only), '
        '`BENCH_ARGS="--only NAME"` (one of %s; with `--write-doc` it rewrites only that benchmark\'s section and targets '
        'here), `--wait-for-idle MINUTES` (wait for a quiet machine before each benchmark), `--keep` (keep the '
        'generated playbooks, inventories and logs under `.tmp/`). Each ansible-playbook run has a hard timeout of %d s.'
        % (', '.join(benchmarks), profile['timeout']),
        '',
        '## Machine',
        '',
        '- CPUs: %s (`nproc`), %s' % (machine['nproc'], machine['model']),
        '- Python %s' % machine['python'],
        '- ansible-core %s' % machine['ansible_core'],
        '- The collection as staged by `make bench` from commit %s (`-dirty`: with the working tree\'s uncommitted changes)'
        % machine['commit'],
        '- Memory (`free -g`):',
        '',
        '```',
        machine['memory'],
        '```',
        '',
        '## Targets',
        '',
        'Compared, not asserted: a miss is reported here and investigated, it does not fail anything.',
        '',
        render_markdown_table(['target', 'measured', 'limit', 'result'], [[str(cell) for cell in target] for target in targets]),
        '',
    ]
    for section in sections:
        lines.append(section.as_markdown())
    with open(PERFORMANCE_DOC, 'w') as handle:
        handle.write('\n'.join(lines).rstrip() + '\n')


def update_performance_doc(sections, machine, elapsed):
    """Replace (or add) the given sections of the page and their rows of the targets table; the rest stays as it is.

    Sections are matched by their number ("## 6. ..."), target rows by their name; each says when and from what it was run.
    """
    with open(PERFORMANCE_DOC) as handle:
        text = handle.read()
    for section in sections:
        section.notes.append('This section alone: `make bench BENCH_ARGS="--only %s --write-doc"` on %s (%.0f s), collection from '
                             'commit %s, ansible-core %s.' % (section.key, machine['date'], elapsed, machine['commit'],
                                                              machine['ansible_core']))
    blocks = re.split(r'\n(?=## )', text.rstrip('\n'))
    for section in sections:
        number = section.title.split('.', 1)[0] + '.'
        markdown = section.as_markdown().rstrip('\n')
        matching = [index for index, block in enumerate(blocks) if block.startswith('## %s ' % number)]
        if matching:
            blocks[matching[0]] = markdown
        else:
            blocks.append(markdown)
    targets_index = next(index for index, block in enumerate(blocks) if block.startswith('## Targets'))
    lines = blocks[targets_index].split('\n')
    names = {target[0] for section in sections for target in section.targets}
    rows = [line for line in lines if line.startswith('| ') and not line.startswith('| target |')
            and line[2:].split(' | ', 1)[0] not in names]
    rows.extend(render_markdown_table(['target'], [[str(cell) for cell in target] for section in sections
                                                   for target in section.targets]).split('\n')[2:])
    table_start = next(index for index, line in enumerate(lines) if line.startswith('| target |'))
    blocks[targets_index] = '\n'.join(lines[:table_start + 2] + rows)
    with open(PERFORMANCE_DOC, 'w') as handle:
        handle.write('\n\n'.join(block.rstrip('\n') for block in blocks) + '\n')
