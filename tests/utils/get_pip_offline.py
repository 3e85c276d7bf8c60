# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for get-pip.py, which ansible-test downloads from a host these machines cannot reach.

ansible-test runs it as `get_pip.py [pip options] pip==X --no-setuptools --no-wheel`. This runs pip
from the wheel CPython bundles for ensurepip and installs the requested packages from the package
index instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import runpy
import sys

import ensurepip


def main():
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl'))
    if not wheels:
        sys.exit('get_pip_offline: this Python has no bundled pip wheel under ensurepip/_bundled')
    sys.path.insert(0, sorted(wheels)[-1])
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    sys.argv = ['pip', 'install'] + args
    runpy.run_module('pip', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
