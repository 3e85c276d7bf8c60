# -*- coding: utf-8 -*-
# Copyright: vpsorg.cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: vpsorg
short_description: VPS.org servers as an Ansible inventory
version_added: 1.0.0
description:
  - Reads the servers of a VPS.org account from C(GET /api/v1/servers/) (every page) and adds one
    host per server, with the server's details as host variables and C(ansible_host) set to its
    IP address.
  - Every host is in the group C(vpsorg). More groups and variables come from O(keyed_groups),
    O(groups) and O(compose).
  - The configuration file must end with C(vpsorg.yml) or C(vpsorg.yaml).
  - The API token is never written to the inventory, to host variables, to error messages or to
    the inventory cache.
  - Host variables set for each server are C(vpsorg_server_id), C(vpsorg_name), C(vpsorg_hostname),
    C(vpsorg_status), C(vpsorg_location), C(vpsorg_plan), C(vpsorg_os) and C(ansible_host) (the
    server's IP address). C(vpsorg_server_id) is what the P(vpsorg.cloud.vpsorg_snapshot#module)
    module, the C(vpsorg.cloud.safe_upgrade) role and the C(vpsorg.cloud.fleet_snapshot) playbook
    read.
  - C(vpsorg_location), C(vpsorg_plan) and C(vpsorg_os) are strings whatever shape the API answers them in
    (a string, an object with a C(name), or a field such as C(location_name)), so they suit O(keyed_groups).
    C(ansible_host) is the server's C(ip_address), else the first of its C(ipv4_addresses).
  - Every string is handed to Ansible trusted, so that C(ansible-inventory --list --export) (an AWX or
    Automation Platform inventory sync) prints plain JSON strings, and none is ever rendered as a template.
    Text from the API that contains Jinja syntax is escaped (each C({) written as C({{ '{' }})), so that
    rendering it, in a playbook or after an import, gives back exactly the API's text.
author:
  - vpsorg.cloud maintainers (@vpsorg)
requirements:
  - requests (on the controller)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - Marks this file as a configuration of this inventory plugin.
    type: str
    required: true
    choices: [vpsorg.cloud.vpsorg]
  api_token:
    description:
      - The VPS.org API token, sent in the C(Authorization) header as a Bearer token.
      - If not set, the environment variable E(VPSORG_API_TOKEN) is used, then E(VPS_API_TOKEN).
      - May be an inline C(!vault) value, or a template such as C({{ vault_vpsorg_api_token }}) rendered
        with the variables given with C(--extra-vars). Note that C(ansible-inventory --list) prints
        every extra variable among the host variables, so the environment or an inline C(!vault)
        value keep the token out of its output.
    type: str
    env:
      # The last variable that is set wins, so VPSORG_API_TOKEN is listed last to take precedence.
      - name: VPS_API_TOKEN
      - name: VPSORG_API_TOKEN
  api_url:
    description:
      - Base URL of the VPS.org API, including the C(/api/v1) path.
      - If not set, the environment variable E(VPSORG_API_URL) is used, then E(VPS_API_URL).
    type: str
    default: https://admin.vps.org/api/v1
    env:
      - name: VPS_API_URL
      - name: VPSORG_API_URL
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
      - Only set this to V(false) for a test API with a self-signed certificate.
    type: bool
    default: true
  api_timeout:
    description:
      - Seconds one attempt of an HTTP request may take in total, from connecting to the last byte of the
        answer (from 1 to 3600); see the modules' O(vpsorg.cloud.vpsorg_snapshot#module:api_timeout) for the bound of a request.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a request is retried after HTTP 429, a 5xx answer or a connection error.
      - Waits between retries grow exponentially with jitter and honour the C(Retry-After) header.
    type: int
    default: 5
  status:
    description:
      - Only servers with this status, such as V(active), V(stopped) or V(restoring).
      - Sent to the API as a filter, and checked again on the answer.
    type: str
  location:
    description:
      - Only servers in this location, such as V(nyc1), V(ams1) or V(fra1).
      - Sent to the API as a filter, and checked again on the answer.
    type: str
  hostname:
    description:
      - Which field of a server names its host in the inventory.
      - V(name) is the server's name in VPS.org, V(hostname) its fully qualified host name,
        V(ip_address) its IP address and V(id) its numeric ID.
      - No server gets a host name that Ansible treats specially or that is already taken - C(localhost) in any
        case, a loopback or unspecified address in any spelling (C(127.0.0.1), C(::1), C(0.0.0.0)), C(all),
        C(ungrouped), a group that the inventory has or that O(groups) or O(keyed_groups) make, a host of an
        earlier inventory source or of another server, or a name Ansible reads as a host pattern (anything
        but ASCII letters, digits, C(_), C(.) and C(-), so C(web[1:3]), C(~re), C(!x), C(&x), C(a:b), C(*) or
        a Unicode look-alike). Names are compared after NFKC normalisation and case folding.
      - Such a server, and a server without that field, is named C(<name>-<id>) instead (its V(name)
        reduced to those characters), else C(server-<id>), with one warning that names its ID, so that
        no server is ever left out or merged into another. Of servers with the same name, the one with
        the lowest ID keeps it.
    type: str
    choices: [name, hostname, ip_address, id]
    default: name
notes:
  - The cache key is made of the configuration file's path, O(api_url), O(status) and O(location),
    never of the token. Use C(--flush-cache) after switching to another account's token with the
    same configuration file.
  - Without a cache, every run of C(ansible-inventory) or C(ansible-playbook) lists the servers once
    (one request per page of servers).
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot
  - plugin: ansible.builtin.constructed
    plugin_type: inventory
"""

EXAMPLES = r"""
# vpsorg.yml - every server of the account; the token comes from VPSORG_API_TOKEN.
plugin: vpsorg.cloud.vpsorg

---
# prod.vpsorg.yml - only active servers in one location, grouped by plan and status.
plugin: vpsorg.cloud.vpsorg
status: active
location: fra1
keyed_groups:
  - key: vpsorg_plan
    prefix: plan
  - key: vpsorg_status
    prefix: status

---
# vpsorg.yml - the token from a vault variable given with -e @vault.yml --ask-vault-pass,
# hosts named by their fully qualified host name, connecting as root.
plugin: vpsorg.cloud.vpsorg
api_token: "{{ vault_vpsorg_api_token }}"
hostname: hostname
compose:
  ansible_user: "'root'"
groups:
  ubuntu: vpsorg_os.startswith('ubuntu')

---
# vpsorg.yml - cache the server list for ten minutes in JSON files.
plugin: vpsorg.cloud.vpsorg
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible/vpsorg
cache_timeout: 600
"""

import hashlib
import json
import re

from collections.abc import Mapping

from ansible.errors import AnsibleParserError, AnsibleUndefinedVariable
from ansible.inventory.data import InventoryData
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template

from ansible_collections.vpsorg.cloud.plugins.module_utils._connection import HAS_REQUESTS, build_client
from ansible_collections.vpsorg.cloud.plugins.module_utils._errors import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils._api import list_servers
from ansible_collections.vpsorg.cloud.plugins.plugin_utils._host_names import HostNamer

GROUP = 'vpsorg'
# Host variable -> field of the server record the plugin keeps (see _server_record).
HOST_VARS = (
    ('vpsorg_server_id', 'id'),
    ('vpsorg_name', 'name'),
    ('vpsorg_hostname', 'hostname'),
    ('vpsorg_status', 'status'),
    ('vpsorg_location', 'location'),
    ('vpsorg_plan', 'plan'),
    ('vpsorg_os', 'os'),
)
# Fields that the API answers as a string, an object with a name, or a <field>_name string.
NAMED_FIELDS = ('location', 'plan', 'os')
FILTERS = ('status', 'location')
# What can open Jinja syntax in a string: '{' ({{, {%, {#) anywhere, '#' at the start (#jinja2: overrides).
TEMPLATE_OPENERS = re.compile(r'^#|\{')


def _scalar_text(value):
    """A scalar API value as a string; None when it is missing, empty or a structure."""
    if value is None or value == '' or isinstance(value, (Mapping, list)):
        return None
    return to_text(value)


def _named(server, field):
    """location, plan or os as a string: the field itself, its object's name, or the <field>_name field."""
    value = server.get(field)
    if isinstance(value, Mapping):
        value = value.get('name')
    return _scalar_text(value) or _scalar_text(server.get('%s_name' % field))


def _address(server):
    """ip_address, else the first entry of ipv4_addresses."""
    addresses = server.get('ipv4_addresses')
    first = next((_scalar_text(a) for a in addresses if _scalar_text(a)), None) if isinstance(addresses, list) else None
    return _scalar_text(server.get('ip_address')) or first


def _server_record(server):
    """The flat record the inventory (and its cache) keeps of one API server object, whatever its shape."""
    server_id = server.get('id')
    if isinstance(server_id, str) and server_id.isdigit():
        server_id = int(server_id)
    record = dict(id=server_id, ip_address=_address(server))
    record.update((field, _scalar_text(server.get(field))) for field in ('name', 'hostname', 'status'))
    record.update((field, _named(server, field)) for field in NAMED_FIELDS)
    return record


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'vpsorg.cloud.vpsorg'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('vpsorg.yml', 'vpsorg.yaml'))

    def get_cache_key(self, path):
        """One cache entry per file, API and filters; the token is never part of it."""
        identity = json.dumps([path, self._api_url()] + [self.get_option(name) for name in FILTERS])
        return '%s_%s' % (self.ansible_name, hashlib.sha256(identity.encode('utf-8')).hexdigest()[:16])

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        if not HAS_REQUESTS:
            raise AnsibleParserError('the %s inventory plugin needs the Python library requests on the controller' % self.NAME)
        # Templates in the file (say, the token) may use variables given with --extra-vars.
        self.templar.available_variables = self._vars
        self._read_config_data(path)

        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        servers = None
        if use_cache:
            try:
                servers = self._cache[self.get_cache_key(path)]
            except KeyError:
                update_cache = True
        if servers is None:
            servers = self._list_servers()
        if update_cache:
            self._cache[self.get_cache_key(path)] = servers
        self._populate(servers)

    def _api_url(self):
        return (self.get_option('api_url') or '').strip().rstrip('/')

    def _api_token(self):
        token = self.get_option('api_token')
        if token is None:
            return None
        try:
            # A template from the file is rendered; a value from the environment is never a template.
            token = self.templar.template(token)
        except AnsibleUndefinedVariable as exc:
            raise AnsibleParserError('%s inventory: cannot render api_token: %s; pass it with --extra-vars'
                                     % (self.NAME, getattr(exc, 'message', exc))) from None
        except Exception as exc:
            # Other template errors may quote rendered values, so only their kind is shown.
            raise AnsibleParserError('%s inventory: cannot render api_token (%s)' % (self.NAME, type(exc).__name__)) from None
        return to_native(token)

    def _list_servers(self):
        filters = dict((name, self.get_option(name)) for name in FILTERS if self.get_option(name))
        try:
            client = build_client(self._api_url(), self._api_token(), self.get_option('validate_certs'),
                                  self.get_option('api_timeout'), self.get_option('api_retries'))
            servers = list_servers(client, **filters)
        except VpsorgApiError as exc:
            hint = ' (check api_token or VPSORG_API_TOKEN)' if exc.status == 401 else ''
            # from None: the chained exceptions add nothing readable and could carry request details.
            raise AnsibleParserError('%s inventory: cannot list servers: %s%s' % (self.NAME, exc, hint)) from None
        records = [_server_record(server) for server in servers if isinstance(server, Mapping)]
        # The filters are not documented for the API: check them here too, in case it ignores them.
        return [record for record in records if all(record.get(name) == value for name, value in filters.items())]

    def _inert(self, value):
        """Remote text as a string that is trusted as a template yet renders to exactly that text.

        ansible-core 2.19+ exports untrusted strings as {"__ansible_unsafe": ...} (and loses that mark in YAML),
        while a trusted string would run any Jinja in it. So text without template syntax is trusted as it is
        (rendering it changes nothing), and in text that looks like a template every '{' and a leading '#'
        (a '#jinja2:' header) become expressions that print them: plain JSON on export, never a template.
        """
        if not isinstance(value, str):
            return value
        if self.templar.is_possibly_template(value):
            value = TEMPLATE_OPENERS.sub(lambda match: "{{ '%s' }}" % match.group(0), value)
        return trust_as_template(value)

    def _populate(self, servers):
        self.inventory.add_group(GROUP)
        host_vars = [self._host_vars(server) for server in servers]
        # Groups first, so that no host takes the name of a group that keyed_groups or groups make for a later host.
        namer = HostNamer(tuple(self.inventory.groups) + self._groups_made(host_vars), tuple(self.inventory.hosts))
        for (server, host, warning), variables in zip(namer.name_all(servers, self.get_option('hostname')), host_vars):
            if warning:
                self.display.warning('%s inventory: %s' % (self.NAME, warning))
            self._add_server_host(host, variables)

    def _host_vars(self, server):
        host_vars = dict((var, self._inert(server.get(field))) for var, field in HOST_VARS)
        if server.get('ip_address'):
            host_vars['ansible_host'] = self._inert(server['ip_address'])
        return host_vars

    def _add_server_host(self, host, host_vars):
        strict = self.get_option('strict')
        self.inventory.add_host(host, group=GROUP)
        for var, value in host_vars.items():
            self.inventory.set_variable(host, var, value)
        self._set_composite_vars(self.get_option('compose'), host_vars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option('groups'), host_vars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), host_vars, host, strict=strict)

    def _groups_made(self, host_vars):
        """The groups that compose, groups and keyed_groups make of these hosts, built in a scratch inventory."""
        inventory = self.inventory
        self.inventory = InventoryData()
        try:
            self.inventory.add_group(GROUP)
            for variables in host_vars:
                # Named after the server, so that a strict expression that fails says which server it failed on.
                self._add_server_host('server %s' % variables['vpsorg_server_id'], variables)
            return tuple(self.inventory.groups)
        finally:
            self.inventory = inventory
