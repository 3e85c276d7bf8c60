# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deliberately hostile local API (hostile.py), for tests of what the collection does with answers it must not trust."""
