#!/usr/bin/env bash
# Put the offline get-pip stand-in where ansible-test looks for its cached get-pip script,
# under the pip version that this venv's ansible-test pins (it cannot download the real one here).
# Safe to run several at once: each writes a file of its own and renames it into place.
set -euo pipefail
python=$1
here=$(cd "$(dirname "$0")" && pwd)
requirements=$("$python" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"))')
version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$requirements" | head -n 1)
[ -n "$version" ] || { echo "install-get-pip: cannot find the pip pin in $requirements" >&2; exit 1; }
cache=~/.ansible/test/cache
target=$cache/get_pip_${version//./_}.py
cmp -s "$here/get_pip_offline.py" "$target" && exit 0
mkdir -p "$cache"
new=$(mktemp "$target.XXXXXX")
cp "$here/get_pip_offline.py" "$new"
chmod 644 "$new"
mv -f "$new" "$target"
