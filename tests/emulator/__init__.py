# -*- coding: utf-8 -*-
# Copyright: (c) 2025, VPS.org collection contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local VPS.org API emulator (emulator.py) and the harness that tests and tools share to drive it (harness.py).

Both files also run as scripts. Inside the collection this package is ``ansible_collections.vpsorg.cloud.tests.emulator``
(how unit tests and the benchmarks import it); the emulator's own tests import it relatively.
"""
