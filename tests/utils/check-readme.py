"""Check README.md's links as Galaxy shows them: every link is an absolute http(s) URL (Galaxy breaks relative
ones and anchors), and every link into the repository (galaxy.yml's `repository`, which holds `documentation`) names a file
or folder that exists in this checkout (CHANGELOG.md may wait for the first release cut).
"""
import os
import re
import sys

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def galaxy_field(text, field):
    match = re.search(r'^%s:\s*(\S+)\s*$' % field, text, re.M)
    if not match:
        sys.exit('check-readme: galaxy.yml has no %s' % field)
    return match.group(1).rstrip('/')


def main(root):
    with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
        galaxy = handle.read()
    repository = galaxy_field(galaxy, 'repository')
    if not galaxy_field(galaxy, 'documentation').startswith(repository + '/'):
        problems_early = 'galaxy.yml: documentation is not inside repository, so its links cannot be checked here'
        sys.exit('check-readme: ' + problems_early)
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as handle:
        readme = handle.read()
    problems = []
    links = LINK.findall(readme)
    for url in links:
        if not re.match(r'https?://', url):
            problems.append('not an absolute URL (relative links and anchors break on Galaxy): %s' % url)
            continue
        path = None
        for tree in ('/blob/main/', '/tree/main/'):
            if url.startswith(repository + tree):
                path = url[len(repository + tree):]
        if path is None:
            continue
        path = path.split('#', 1)[0]
        if os.path.exists(os.path.join(root, path)):
            continue
        if path == 'CHANGELOG.md' and os.path.exists(os.path.join(root, 'changelogs', 'changelog.yaml')):
            continue  # written by the release cut (make release)
        problems.append('links to %s, which the repository does not have' % path)
    for problem in problems:
        print('README check: %s' % problem)
    if problems:
        print('README check: FAILED with %d problem(s)' % len(problems))
        return 1
    print('README check: %d links, all absolute, every link into %s names an existing file' % (len(links), repository))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else '.'))
