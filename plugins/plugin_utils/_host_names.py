# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory host names for servers whose names come from the API: never one that Ansible treats specially.

A server named ``localhost`` would otherwise become the host that every ``delegate_to: localhost`` task runs on,
one named ``all`` would shrink ``hosts: all`` to itself, and one named ``web[1:3]`` would be read as a pattern.
``HostNamer`` gives every server one host name that is plain, not reserved and not taken, deterministically.
"""

import ipaddress
import re
import socket
import unicodedata

import ansible.constants as C

# A name of only these characters is never read as more than one host pattern, a range, a regex, a glob, an
# exclusion or an intersection. Non-ASCII names are not plain: look-alike letters (a Cyrillic 'о' in 'lоcalhost')
# cannot be told apart reliably, so such a server is named by the fallback, which says so in a warning.
PLAIN = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*\Z')
# Names of the controller itself: Ansible's implicit localhost (C.LOCALHOST) and the usual /etc/hosts aliases.
LOCAL_NAMES = frozenset(name.casefold() for name in tuple(C.LOCALHOST) + (
    'localhost.localdomain', 'localhost4', 'localhost4.localdomain4', 'localhost6', 'localhost6.localdomain6',
    'ip6-localhost', 'ip6-loopback'))
# Groups every inventory has.
IMPLICIT_GROUPS = ('all', 'ungrouped')


def folded(name):
    """The form names are compared in: NFKC (fullwidth 'ｌｏｃａｌｈｏｓｔ' is 'localhost'), case-folded, no trailing dot."""
    return unicodedata.normalize('NFKC', name).casefold().rstrip('.')


def is_local_address(name):
    """True for any spelling of a loopback or unspecified address: 127.0.0.0/8, ::1, 0.0.0.0, ::, '127.1', '0x7f.1'."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        try:
            # What the C resolver accepts as IPv4 (shorthand, hex, octal), only for names made of such characters.
            if not re.match(r'^[0-9a-fA-FxX.]+$', name):
                return False
            address = ipaddress.ip_address(socket.inet_aton(name))
        except (OSError, ValueError):
            return False
    mapped = getattr(address, 'ipv4_mapped', None)
    address = mapped or address
    return address.is_loopback or address.is_unspecified


def local_reason(name):
    """Why name would stand for the controller, or None."""
    if folded(name) in LOCAL_NAMES or is_local_address(name):
        return "is a name of the controller (Ansible's localhost), so tasks delegated to localhost would run on it"
    return None


def plain_reason(name):
    """Why name is not a plain host name (Ansible would read it as a pattern, or it could hide a look-alike), or None."""
    if PLAIN.match(name) or is_address(name):
        return None
    return ("is not a plain host name (only ASCII letters, digits, '.', '_' and '-' are, "
            "as anything else can be a host pattern or a look-alike)")


def is_address(name):
    """An IP address (IPv6 has ':', which Ansible parses as one address, not as two patterns)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def slug(name):
    """name reduced to plain characters: compatibility forms folded (fullwidth letters), every other run a '-'."""
    return re.sub(r'[^A-Za-z0-9_.-]+', '-', unicodedata.normalize('NFKC', name)).strip('-.')


class HostNamer:
    """Host names for servers, free of the reserved names, the groups and the hosts already in the inventory.

    reserved_groups: every group name the inventory has or the plugin will make; taken_hosts: host names other
    sources already added. Compared folded (folded()), so 'LOCALHOST', 'Web' and 'ＷＥＢ' collide with their twins.
    """

    def __init__(self, reserved_groups, taken_hosts):
        self.groups = set(folded(name) for name in tuple(reserved_groups) + IMPLICIT_GROUPS)
        self.others = set(folded(name) for name in taken_hosts)
        self.ours = {}

    def refusal(self, name):
        """Why name cannot be a host name here (a phrase to follow "which"), or None when it can."""
        key = folded(name)
        if key in self.ours:
            return 'is the name of another server'
        if key in self.others:
            return 'a host of another inventory source has'
        reason = plain_reason(name) or local_reason(name)
        if reason:
            return reason
        if key in self.groups:
            return 'is the name of a group (a host pattern naming it selects the group)'
        return None

    def take(self, name, server_id):
        self.ours[folded(name)] = server_id

    def fallbacks(self, server):
        """The names tried, in order, for a server whose own name cannot be used."""
        server_id = server.get('id')
        base = slug(server.get('name') or '')
        if base:
            yield '%s-%s' % (base, server_id)
        yield 'server-%s' % server_id
        number = 2
        while True:
            yield 'server-%s-%d' % (server_id, number)
            number += 1

    def name_all(self, servers, field):
        """[(server, host name, warning or None)] in the servers' order.

        A server keeps the value of its field when it may be used; of servers with the same value, the one with
        the lowest id keeps it whatever order the API lists them in. The others get the first free fallback.
        """
        order = sorted(range(len(servers)), key=lambda index: _id_key(servers[index].get('id')))
        names = [None] * len(servers)
        wanted = [_text(servers[index].get(field)) for index in range(len(servers))]
        for index in order:
            if wanted[index] is not None and self.refusal(wanted[index]) is None:
                self.take(wanted[index], servers[index].get('id'))
                names[index] = (wanted[index], None)
        for index in order:
            if names[index] is not None:
                continue
            server, value = servers[index], wanted[index]
            if value is None:
                why = 'has no %s' % field
            elif folded(value) in self.ours:
                why = "has the same %s as another server ('%s')" % (field, value)
            else:
                why = "has the %s '%s', which %s" % (field, value, self.refusal(value))
            host = next(name for name in self.fallbacks(server) if self.refusal(name) is None)
            self.take(host, server.get('id'))
            names[index] = (host, 'server %s %s; naming its host %s' % (server.get('id'), why, host))
        return [(server,) + names[index] for index, server in enumerate(servers)]


def _text(value):
    return None if value is None or value == '' else str(value)


def _id_key(server_id):
    """Numeric ids in order, then any other id as text (an API that answers odd ids still names hosts stably)."""
    if isinstance(server_id, int) and not isinstance(server_id, bool):
        return (0, server_id, '')
    return (1, 0, str(server_id))
