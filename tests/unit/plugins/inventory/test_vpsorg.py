# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin's host names against hostile server names (issue 24, item 1).

Each test names servers of the emulator's account, builds the inventory as ansible-playbook does (InventoryManager,
the plugin found by its FQCN, other sources next to it) and asks Ansible's own pattern matching what `hosts:` and
`delegate_to:` would select: every server is one host, every host name selects that host alone, and `localhost`,
`127.0.0.1` and `::1` still select the controller (the implicit localhost).
"""

import json
import os

import pytest

from ansible import constants as C
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader
from ansible.utils.display import Display

from ansible_collections.vpsorg.cloud.tests.unit.conftest import TOKEN

PLUGIN = 'vpsorg.cloud.vpsorg'
WARNING = '%s inventory: ' % PLUGIN


@pytest.fixture(scope='module', autouse=True)
def collection_loader():
    """Find the plugin by its FQCN, as ansible-playbook does (ansible-test units already set the finder up)."""
    if inventory_loader.get(PLUGIN) is None:
        here = os.path.abspath(__file__)
        init_plugin_loader([here[:here.rindex(os.sep + 'ansible_collections' + os.sep)]])
    assert inventory_loader.get(PLUGIN) is not None


@pytest.fixture
def warnings(monkeypatch):
    """The warnings the plugin gives, in order."""
    given = []
    display = Display()
    monkeypatch.setattr(display, 'warning', lambda msg, *args, **kwargs: given.append(msg))
    monkeypatch.setattr(C, 'INVENTORY_UNPARSED_IS_FAILED', True)
    return given


def account(emu, *names, **fields):
    """An account whose servers have these names, in this order (ids ascending); the ids."""
    emu.reset(servers=0)
    return [emu.add_server(name=name, **fields)['id'] for name in names]


def inventory(emu, tmp_path, config=None, before=None):
    """The inventory ansible-playbook would build: `before` (a YAML inventory) first, then the plugin's file."""
    sources = []
    if before is not None:
        other = tmp_path / 'other.yml'
        other.write_text(json.dumps(before))
        sources.append(str(other))
    path = tmp_path / 'vpsorg.yml'
    path.write_text(json.dumps(dict(dict(plugin=PLUGIN, api_url=emu.base_url, api_token=TOKEN, api_retries=0), **(config or {}))))
    sources.append(str(path))
    return InventoryManager(DataLoader(), sources=sources)


def server_hosts(manager):
    """{host name: server id} of every host the plugin made."""
    return dict((host.name, host.vars['vpsorg_server_id']) for host in manager.get_hosts('vpsorg'))


def assert_safe(manager, ids, warnings, renamed):
    """Every server one host; each host name selects that host alone; the controller's names select the controller;
    one warning for each renamed server id, naming it."""
    hosts = server_hosts(manager)
    assert sorted(hosts.values()) == sorted(ids)
    assert len(hosts) == len(ids)
    for name in hosts:
        assert [host.name for host in manager.get_hosts(name)] == [name], name
    assert sorted(host.name for host in manager.get_hosts('all') if host.name in hosts) == sorted(hosts)
    for name in C.LOCALHOST:
        # What delegate_to: localhost (or 127.0.0.1, ::1) runs on: never a server.
        assert manager.get_host(name).implicit, name
        assert [host.implicit for host in manager.get_hosts(name)] == [True], name
    ours = [warning for warning in warnings if warning.startswith(WARNING)]
    assert len(ours) == len(renamed)
    for server_id, warning in zip(sorted(renamed), sorted(ours, key=lambda text: int(text.split()[3]))):
        assert warning.startswith('%sserver %d ' % (WARNING, server_id)), warning
    return hosts


def by_id(hosts):
    return dict((server_id, name) for name, server_id in hosts.items())


def test_names_of_the_controller_never_name_a_server(emu, tmp_path, warnings):
    names = ['localhost', 'LOCALHOST', 'LocalHost', '127.0.0.1', '::1', '127.1', '127.0.0.2', '0.0.0.0', '::',
             '::ffff:127.0.0.1', 'localhost.localdomain', 'localhost.', 'ip6-localhost', 'db-01']
    ids = account(emu, *names)
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, ids[:-1]))
    assert hosts[ids[0]] == 'localhost-%d' % ids[0]
    assert hosts[ids[3]] == '127.0.0.1-%d' % ids[3]
    assert hosts[ids[-1]] == 'db-01'
    assert "has the name 'localhost', which is a name of the controller" in warnings[0]


def test_a_server_renamed_localhost_does_not_take_over_delegation(emu, tmp_path, warnings):
    """The attack of the issue: one rename through the API, and delegate_to: localhost went to that server."""
    ids = account(emu, 'web-server-01', 'web-server-02')
    emu.update_server(ids[1], name='localhost')
    manager = inventory(emu, tmp_path)
    assert_safe(manager, ids, warnings, [ids[1]])
    assert 'ansible_host' not in manager.get_host('localhost').vars
    assert manager.get_host('localhost-%d' % ids[1]).vars['ansible_host'] == '203.0.113.2'


def test_group_names_never_name_a_server(emu, tmp_path, warnings):
    ids = account(emu, 'all', 'ALL', 'ungrouped', 'vpsorg', 'Vpsorg', 'app')
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, ids[:-1]))
    # hosts: all is every server again, not the one named all.
    assert hosts[ids[0]] == 'all-%d' % ids[0]
    assert hosts[ids[-1]] == 'app'


def test_host_patterns_never_name_a_server(emu, tmp_path, warnings):
    names = ['web[1:3]', 'web[0]', '~web.*', '!web', '&web', 'a:b', '*', 'web?', 'a,b', 'a b', ' web', 'web\t',
             '@limit', 'web/x', 'web', '-web']
    ids = account(emu, *names)
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, [i for i, n in zip(ids, names) if n != 'web']))
    assert hosts[ids[0]] == 'web-1-3-%d' % ids[0]
    assert hosts[ids[6]] == 'server-%d' % ids[6]
    assert hosts[names.index('web') + ids[0]] == 'web'


def test_a_name_with_a_trailing_newline_is_not_plain(emu, tmp_path, warnings):
    """A regular expression anchored with $ lets a trailing newline through: localhost\\n would have been a host."""
    names = ['localhost\n', 'all\n', 'web\n']
    ids = account(emu, *names)
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, ids))
    assert not [name for name in hosts.values() if '\n' in name]


def test_a_fallback_name_never_takes_another_servers_name(emu, tmp_path, warnings):
    """web-<id of the third> / web / web: the third server's fallback was the first one's name, and replaced it."""
    ids = account(emu, 'a', 'b', 'c')
    emu.update_server(ids[0], name='web-%d' % ids[2])
    emu.update_server(ids[1], name='web')
    emu.update_server(ids[2], name='web')
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, [ids[2]]))
    assert hosts == {ids[0]: 'web-%d' % ids[2], ids[1]: 'web', ids[2]: 'server-%d' % ids[2]}
    assert "has the same name as another server" in warnings[0]


def test_a_server_keeps_its_own_name_when_an_earlier_fallback_would_take_it(emu, tmp_path, warnings):
    """web / web / web-<id of the second>: the third server's own name wins over the second one's fallback."""
    ids = account(emu, 'web', 'web', 'c')
    emu.update_server(ids[2], name='web-%d' % ids[1])
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, [ids[1]]))
    assert hosts == {ids[0]: 'web', ids[1]: 'server-%d' % ids[1], ids[2]: 'web-%d' % ids[1]}


def test_case_variants_are_one_name(emu, tmp_path, warnings):
    ids = account(emu, 'Web', 'web', 'WEB', 'ｗｅｂ')
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, ids[1:]))
    assert hosts[ids[0]] == 'Web'
    assert hosts[ids[1]] == 'web-%d' % ids[1]


def test_unicode_look_alikes_are_not_host_names(emu, tmp_path, warnings):
    # Fullwidth letters, Cyrillic о and с, a Greek Α, a zero-width space, a dotless ı.
    names = ['ｌｏｃａｌｈｏｓｔ', 'l\u043e\u0441alhost', '\u0391ll', 'local\u200bhost', 'localhost\u0131', 'ａｌｌ']
    ids = account(emu, *names)
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, ids))
    assert hosts[ids[0]] == 'localhost-%d' % ids[0]
    assert hosts[ids[1]] == 'l-alhost-%d' % ids[1]
    assert all(name.isascii() for name in hosts.values())


def test_group_names_made_for_later_hosts_never_name_a_server(emu, tmp_path, warnings):
    """keyed_groups and groups make groups from host variables: a server listed first may not take the name of a
    group that a server listed after it makes."""
    ids = account(emu, 'status_stopped', 'plan_vps_2gb', 'ubuntu', 'fra1', 'app')
    emu.update_server(ids[-1], status='stopped', location='fra1')
    config = dict(keyed_groups=[dict(key='vpsorg_status', prefix='status'), dict(key='vpsorg_plan', prefix='plan'),
                                dict(key='vpsorg_location', prefix='')],
                  leading_separator=False, groups=dict(ubuntu="vpsorg_os.startswith('ubuntu')"))
    manager = inventory(emu, tmp_path, config)
    hosts = by_id(assert_safe(manager, ids, warnings, ids[:-1]))
    assert hosts[ids[0]] == 'status_stopped-%d' % ids[0]
    assert [host.name for host in manager.get_hosts('status_stopped')] == ['app']
    assert "has the name 'status_stopped', which is the name of a group" in warnings[0]


def test_hosts_and_groups_of_another_source_are_never_taken(emu, tmp_path, warnings):
    before = {'all': {'hosts': {'bastion': {'ansible_host': '192.0.2.10'}},
                      'children': {'db': {'hosts': {'db-primary': {}}}}}}
    ids = account(emu, 'bastion', 'BASTION', 'db', 'db-primary', 'app')
    manager = inventory(emu, tmp_path, before=before)
    hosts = by_id(assert_safe(manager, ids, warnings, ids[:-1]))
    assert hosts[ids[0]] == 'bastion-%d' % ids[0]
    # The other source's hosts keep their own variables and groups; no server's were merged into them.
    assert manager.get_host('bastion').vars['ansible_host'] == '192.0.2.10'
    assert 'vpsorg_server_id' not in manager.get_host('bastion').vars
    assert [host.name for host in manager.get_hosts('db')] == ['db-primary']
    assert 'vpsorg_server_id' not in manager.get_host('db-primary').vars


def test_a_hostile_field_of_another_hostname_option(emu, tmp_path, warnings):
    """hostname: ip_address with a server whose address is the controller's, hostname: hostname with 'localhost'."""
    ids = account(emu, 'web-1', 'web-2')
    emu.update_server(ids[0], ip_address='127.0.0.1', hostname='localhost')
    hosts = by_id(assert_safe(inventory(emu, tmp_path, dict(hostname='ip_address')), ids, warnings, ids[:1]))
    assert hosts == {ids[0]: 'web-1-%d' % ids[0], ids[1]: '203.0.113.2'}
    del warnings[:]
    hosts = by_id(assert_safe(inventory(emu, tmp_path, dict(hostname='hostname')), ids, warnings, ids[:1]))
    assert hosts == {ids[0]: 'web-1-%d' % ids[0], ids[1]: 'web-2.example.com'}


def test_ordinary_names_stay_as_they_are(emu, tmp_path, warnings):
    names = ['web-server-01', 'db.example.com', 'cache_01', '203.0.113.9', '2001:db8::1', 'localhost-1', 'all-servers']
    ids = account(emu, *names)
    hosts = by_id(assert_safe(inventory(emu, tmp_path), ids, warnings, []))
    assert [hosts[server_id] for server_id in ids] == names
