# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one page walker: every list the collection reads goes through walk(), the one loop over pages.

Private to vpsorg.cloud: may change without notice; other collections must not import it.

A pass follows a DRF-paginated list's next links (on the configured API only, by the client's rule), checks
each page where it enters, and says whether the list settled under it (its count stayed, no later page vanished,
the ids add up to the count) and whether its items were in the order the reader asked for. It is bounded: at
most the first page's count plus a margin of items, MAX_LIST_BYTES and a deadline. read_all() is the plain
reader: passes until one settles. Readers that stop early (_source.py) give walk() a stop rule.
Imports _errors.py and _answers.py only (the client is passed in).
"""

import time

from ansible_collections.vpsorg.cloud.plugins.module_utils._answers import bad_response, check_page
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import BAD_RESPONSE, VpsorgApiError

# DRF-style APIs cap page_size at their maximum, so asking for a large page only saves requests.
PAGE_SIZE = 100
MAX_PAGES = 10000
# Passes over a list that other runs keep changing while it is read; each pass starts at the first page.
LIST_PASSES = 5
# One read of a list, all its pages: at most this many bytes and the client's list_seconds, and at most the first page's count of
# items plus LIST_MARGIN (or a tenth of the count, if more) for snapshots created while it is read. An API (or
# whoever answers for it) that sends endless fresh next links fails the read instead of filling memory.
MAX_LIST_BYTES = 64 * 1024 * 1024
LIST_MARGIN = 200


def adds_up(items, count):
    """Whether a whole read holds as many distinct items as the list's count: items that shifted between pages
    show up twice or not at all, and then the ids do not add up."""
    return count is None or len(set(item['id'] for item in items)) == count


class Pass:
    """One pass over the pages of a list, as walk() leaves it."""

    def __init__(self):
        self.items = []  # every item read, in order: an item that shifted between pages shows up twice
        self.count = None  # the first page's count
        self.pages = 0  # pages read and used
        self.more = False  # whether the last page read had a next link
        self.in_order = True  # whether in_order held over every item read
        self.changed = False  # the count moved, or a later page vanished (items deleted meanwhile)
        self.stopped = None  # what the stop rule answered when it ended the pass early

    @property
    def settled(self):
        """Walked to its end, nothing changed under it, and the ids add up to the count."""
        return not self.changed and not self.stopped and adds_up(self.items, self.count)

    def ids(self):
        return set(item['id'] for item in self.items)


def _bound_problem(items, count, size, seconds, limit):
    """Why a list read must stop (its items past the first page's count and a margin, its bytes or its seconds past the caps), or None."""
    if count is not None and items > count + max(LIST_MARGIN, count // 10):
        return 'its pages went on past its count: %d items read, where the first page counted %d' % (items, count)
    if size > MAX_LIST_BYTES:
        return 'its pages add up to more than %d MB' % (MAX_LIST_BYTES // (1024 * 1024))
    if seconds > limit:
        return 'reading its pages took more than %d seconds' % limit
    return None


def walk(client, path, query=None, check=None, in_order=None, stop=None):
    """One pass over the pages of path, from its first page: a Pass.

    check(item, request) checks each item where it enters; in_order(items) tells whether items are in the wanted
    order (a property of neighbours, checked across page boundaries); stop(the pass so far) is asked after each
    page, and a true answer ends the pass there (kept in Pass.stopped). A later page that is gone (404) or a count
    that moves ends the pass as changed. Going past the first page's count (plus a margin), MAX_LIST_BYTES or the
    client's list deadline fails with bad_response.
    """
    query = dict(query or {})
    query.setdefault('page_size', PAGE_SIZE)
    request = ('GET', client.shown_path(path))
    walked, started, sizes, seen, read = Pass(), time.monotonic(), [], set(), 0
    data = client.get(path, params=query, sizes=sizes)
    for dummy in range(MAX_PAGES):
        page = check_page(data, request)
        read += len(page['results'])
        walked.count = page['count'] if not walked.pages else walked.count
        problem = _bound_problem(read, walked.count, sum(sizes), time.monotonic() - started, client.list_seconds)
        if problem:
            raise bad_response(request, problem)
        if walked.pages and page['count'] != walked.count:
            walked.changed = True
            return walked
        items = [check(item, request) for item in page['results']] if check else page['results']
        walked.in_order = walked.in_order and (in_order is None or in_order(walked.items[-1:] + items))
        walked.items.extend(items)
        walked.pages += 1
        walked.more = bool(page['next'])
        walked.stopped = stop(walked) if stop else None
        if walked.stopped or not page['next']:
            return walked
        next_url = client.next_page_url(page['next'], request[1])
        if next_url in seen:
            return walked
        seen.add(next_url)
        try:
            data = client.get(next_url, sizes=sizes)
        except VpsorgApiError as exc:
            if exc.status != 404:
                raise
            walked.changed = True
            return walked
    return walked


def read_all(client, path, params=None, in_order=None):
    """Every item of a list, read again while other runs change it.

    A pass is used only when it settled and, when in_order(items) is given, it is one page or in that order: in any
    other order an item created meanwhile lands among the pages and can push one out of reach while the ids still
    add up. Otherwise the list is read again from its first page, at most LIST_PASSES times, and then the read
    fails rather than return a list that may miss an item.
    """
    for dummy in range(LIST_PASSES):
        walked = walk(client, path, params, in_order=in_order)
        if walked.settled and (walked.pages == 1 or walked.in_order):
            return list(dict((item['id'], item) for item in reversed(walked.items)).values())[::-1]
    shown = client.shown_path(path)
    raise VpsorgApiError('GET %s failed: the list changed under each of %d reads (or was not in order); try again later'
                         % (shown, LIST_PASSES), code=BAD_RESPONSE, method='GET', path=shown)
