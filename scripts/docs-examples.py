# Copyright: icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Extract the Ansible examples of the documentation into files that ansible-lint can check.

Sources:
  * the EXAMPLES of every module in plugins/modules/ (a list of tasks);
  * every ``.. code-block:: yaml+jinja`` block of docs/docsite/rst/*.rst (other YAML, such as cloud-init user
    data or an execution-environment definition, is written as ``.. code-block:: yaml`` and is not Ansible content).

A list whose first item has ``hosts`` is a playbook and is written as it is; any other list is a list of tasks and
is wrapped in a play on ``all``; a mapping is a set of variables and is written under group_vars/all/.
The text of each example is kept (comments, quoting), only indented, so ansible-lint checks what readers copy.

Usage: docs-examples.py SOURCE_ROOT DEST_DIR   (prints the files written, one a line)
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys

import yaml

BLOCK = re.compile(r'^(?P<indent>[ \t]*)\.\. code-block::[ \t]*yaml\+jinja[ \t]*$')


def module_examples(root: str):
    folder = os.path.join(root, 'plugins', 'modules')
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.py') or name == '__init__.py':
            continue
        with open(os.path.join(folder, name), encoding='utf-8') as handle:
            tree = ast.parse(handle.read())
        for node in tree.body:
            if (isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'EXAMPLES' for t in node.targets)
                    and isinstance(node.value, ast.Constant)):
                yield 'module-%s' % name[:-3], node.value.value


def rst_examples(root: str):
    folder = os.path.join(root, 'docs', 'docsite', 'rst')
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.rst'):
            continue
        with open(os.path.join(folder, name), encoding='utf-8') as handle:
            lines = handle.read().splitlines()
        count = 0
        i = 0
        while i < len(lines):
            match = BLOCK.match(lines[i])
            i += 1
            if not match:
                continue
            outer = len(match.group('indent'))
            # Options of the directive, then a blank line, then the indented content.
            while i < len(lines) and lines[i].strip().startswith(':'):
                i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > outer):
                body.append(lines[i])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            while body and not body[0].strip():
                body.pop(0)
            if not body:
                continue
            strip = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            count += 1
            yield '%s-%02d' % (name[:-4], count), '\n'.join(b[strip:] for b in body) + '\n'


def indent(text: str, spaces: int) -> str:
    return ''.join((' ' * spaces + line) if line.strip() else line for line in text.splitlines(True))


def strip_document_start(text: str) -> str:
    lines = text.strip('\n').splitlines(True)
    while lines and (lines[0].strip() == '---' or lines[0].startswith('#') or not lines[0].strip()):
        lines.pop(0)
    return ''.join(lines)


def write(dest: str, label: str, text: str) -> str:
    data = yaml.safe_load(text)
    if isinstance(data, dict):
        path = os.path.join(dest, 'group_vars', 'all', label + '.yml')
        content = text if text.lstrip().startswith('---') else '---\n' + text
    elif isinstance(data, list) and data and isinstance(data[0], dict) and 'hosts' in data[0]:
        path = os.path.join(dest, 'playbooks', label + '.yml')
        content = text if text.lstrip().startswith('---') else '---\n' + text
    elif isinstance(data, list):
        path = os.path.join(dest, 'playbooks', label + '.yml')
        content = ('---\n- name: Example tasks of %s\n  hosts: all\n  gather_facts: false\n  tasks:\n%s'
                   % (label, indent(strip_document_start(text), 4)))
    else:
        raise SystemExit('%s: not a playbook, a task list or a mapping of variables' % label)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(content if content.endswith('\n') else content + '\n')
    return path


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, dest = sys.argv[1], sys.argv[2]
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    written = [write(dest, label, text) for label, text in list(module_examples(root)) + list(rst_examples(root))]
    if not written:
        print('docs-examples: no examples found', file=sys.stderr)
        return 1
    print('\n'.join(written))
    return 0


if __name__ == '__main__':
    sys.exit(main())
