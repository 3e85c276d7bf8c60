"""Check a built collection tarball against tests/utils/tarball-allowlist.txt.

Fails when the tarball holds a file that matches no allowed pattern, lacks a required file, or ships a text file
that names a path of a development machine. Prints one line per problem and a summary line.
"""
import fnmatch
import json
import re
import sys
import tarfile

# Paths that exist only on a developer's or CI's machine; none may appear in a shipped file.
LOCAL_PATH = re.compile(r'(?<![\w.])(/work[/]|/home/[\w.-]+/|/root/|/Users/[\w.-]+/|/tmp/bash_jobs|[A-Z]:\\Users\\)')


def read_allowlist(path):
    patterns = []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.split('#', 1)[0].strip()
            if line:
                fields = line.split()
                patterns.append((fields[0], fields[1] if len(fields) > 1 else ''))
    return patterns


def main(tarball, allowlist):
    patterns = read_allowlist(allowlist)
    problems = []
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        names = [m.name for m in members]
        manifest = json.load(tar.extractfile('MANIFEST.json'))
        version = manifest['collection_info']['version']
        changelog = tar.extractfile('changelogs/changelog.yaml').read().decode('utf-8')
        released = not re.search(r'^releases:\s*\{\}\s*$', changelog, re.M)
        for member in members:
            if not any(fnmatch.fnmatchcase(member.name, entry[0]) for entry in patterns):
                problems.append('not in the allowlist: %s' % member.name)
            data = tar.extractfile(member).read()
            if b'\0' in data:
                continue
            for number, line in enumerate(data.decode('utf-8', 'replace').splitlines(), 1):
                if LOCAL_PATH.search(line):
                    problems.append('local machine path in %s:%d: %s' % (member.name, number, line.strip()[:120]))
    for pattern, flag in patterns:
        needed = flag == 'required' or (flag == 'required-after-release' and released)
        if needed and not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            problems.append('missing: %s' % pattern)
    for problem in problems:
        print('tarball check: %s' % problem)
    if problems:
        print('tarball check: %s FAILED with %d problem(s)' % (tarball, len(problems)))
        return 1
    print('tarball check: %d files of vpsorg.cloud %s all allowed, none names a local path%s' % (
        len(names), version, '' if released else ' (no release in the changelog yet, so no CHANGELOG.md needed)'))
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: check-tarball.py COLLECTION.tar.gz ALLOWLIST')
    sys.exit(main(sys.argv[1], sys.argv[2]))
