# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Answers are checked where they enter: a list's page, a snapshot, a server, a restore. Anything else fails with
one line and code bad_response.

Private to vpsorg.cloud: may change without notice; other collections must not import it.
Imports _errors.py only.
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import BAD_RESPONSE, VpsorgApiError

# The largest id the API can store (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1


def is_id(value, minimum=1):
    """True for an integer the API can mean as an id (a JSON boolean is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_ID


def bad_response(request, problem):
    """VpsorgApiError(bad_response) for an answer to request, (method, shown path) or a line, that cannot be used."""
    method, path = request if isinstance(request, tuple) else (None, None)
    line = '%s %s' % (method, path) if method else request
    return VpsorgApiError('%s failed: %s' % (line, problem), code=BAD_RESPONSE, method=method, path=path)


def check_page(data, request):
    """A list answer as dict(results, count, next), or VpsorgApiError(bad_response) naming what is wrong.

    A bare JSON list counts as one page of results; every result must be an object with an integer id.
    """
    if isinstance(data, list):
        data = dict(results=data, count=None, next=None)
    if not isinstance(data, dict) or not isinstance(data.get('results'), list):
        raise bad_response(request, 'the answer is not a list of results')
    problem = None
    if not all(isinstance(item, dict) for item in data['results']):
        problem = 'a result that is not an object'
    elif not all(is_id(item.get('id')) for item in data['results']):
        problem = 'a result without an integer id'
    elif data.get('count') is not None and not is_id(data['count'], 0):
        problem = 'a count that is not a number'
    elif data.get('next') is not None and not isinstance(data['next'], str):
        problem = 'a next-page link that is not a string'
    if problem:
        raise bad_response(request, 'the answer has %s' % problem)
    return dict(results=data['results'], count=data.get('count'), next=data.get('next'))


def server_of(snapshot):
    """The id of a snapshot's server, however the API spells it."""
    server = snapshot.get('server')
    if isinstance(server, dict):
        return server.get('id')
    if isinstance(server, int):
        return server
    return snapshot.get('server_id')


def snapshot_problem(snap):
    """What makes an answer unusable as a snapshot object, or None."""
    if not isinstance(snap, dict):
        return 'is not a snapshot object'
    if not is_id(snap.get('id')):
        return 'has a snapshot without an integer id'
    if not is_id(server_of(snap)):
        return 'has snapshot %s without the integer id of its server' % snap['id']
    wrong = [field for field, kinds in (('name', (str,)), ('status', (str,)), ('created_at', (str, type(None))), ('description', (str, type(None))))
             if not isinstance(snap.get(field), kinds)]
    if snap.get('size_mb') is not None and not is_id(snap['size_mb'], 0):
        wrong.append('size_mb')
    if wrong:
        return 'has snapshot %s with a wrong type for %s' % (snap['id'], ', '.join(wrong))
    return None


def check_snapshot(answer, request, server_id=None, name=None):
    """answer if it is a snapshot (of server_id, named name, when given), else VpsorgApiError(bad_response)."""
    problem = snapshot_problem(answer)
    if not problem and server_id is not None and server_of(answer) != server_id:
        problem = 'is a snapshot of server %s, not of server %s' % (server_of(answer), server_id)
    if not problem and name is not None and answer.get('name') != name:
        # The answered name is not quoted: a hostile API could echo the token there.
        problem = "is a snapshot with another name than '%s'" % name
    if problem:
        written = ' (the snapshot may have been created: list the server\'s snapshots before trying again)' if name is not None else ''
        raise bad_response(request, 'the answer %s%s' % (problem[:300], written))
    return answer


def check_server(server, request, server_id=None):
    """server if it is a server object (with that id, when given), else VpsorgApiError(bad_response)."""
    problem = None
    if not isinstance(server, dict) or not is_id(server.get('id')):
        problem = 'is not a server object with an integer id'
    elif server_id is not None and server['id'] != server_id:
        problem = 'is server %s, not server %s' % (server['id'], server_id)
    if problem:
        raise bad_response(request, 'the answer %s' % problem)
    return server


def check_restore(answer, request):
    """The restore endpoint's answer if it is an object (whose server, if any, is an object), else bad_response."""
    if not isinstance(answer, dict) or not isinstance(answer.get('server', {}), dict):
        raise bad_response(request, 'the answer is not a restore object (the restore may have started: check the server)')
    return answer
