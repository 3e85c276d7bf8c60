# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of vpsorg.cloud against the local API emulator: `make bench`, or `python -m bench --help`.

harness.py runs things (the emulator, ansible-playbook, memory and CPU meters), benchmarks.py says what to run and
what to compare, report.py turns the results into tables and docs/performance.md, playbooks/ holds the playbooks.
"""
