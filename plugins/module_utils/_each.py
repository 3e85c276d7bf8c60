# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One step for each server of a set, a few at a time: the one thread pool of the collection.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py only.
"""

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError

# Requests in flight at once for a set of servers: enough to hide latency, few enough not to trip rate limits.
WORKERS = 8


def each(function, items, workers=WORKERS):
    """function(item) for every item, a few at a time: [(item, result, error)] in the order of items.

    A VpsorgApiError is kept as that item's error; one item runs in this thread.
    """
    def guarded(item):
        try:
            return item, function(item), None
        except VpsorgApiError as exc:
            return item, None, exc

    if len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
            return list(pool.map(guarded, items))
    return [guarded(item) for item in items]
