#!/usr/bin/env python3
"""Generates a git repository of N commits as a `git fast-import` stream.

    python3 bench/gen-repo.py --commits 600000 | git -C DIR fast-import --quiet

The shape is what makes syncs slow on real monorepos:
- a wide directory (`wide/`, 2,000 files by default) touched often, so its
  tree changes in most commits;
- deep paths (`deep/a/b/c/d/e/...`) and a module tree (`src/modNN/...`);
- mostly small changes (one line of one file), some medium (five files),
  a few large (a new file of 300 lines, or one rewritten), a few renames;
- a topic branch of three commits merged with a merge commit every
  `--merge-every` commits;
- an annotated release tag every `--tag-every` commits (`v1.N.0`);
- 60 authors; one commit every `--minutes` minutes (default 10) from
  2015-01-05, so a 90-day window holds about 13,000 commits.

Deterministic: the same arguments give the same commits and ids.
"""

import argparse
import random
import sys

START = 1420448400  # 2015-01-05 09:00:00 UTC


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, required=True)
    parser.add_argument("--wide", type=int, default=2000, help="files in the wide directory")
    parser.add_argument("--tag-every", type=int, default=10000)
    parser.add_argument("--merge-every", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    out = sys.stdout.buffer
    write = out.write
    paths = [f"wide/f{i:04d}.txt" for i in range(args.wide)]
    paths += [f"deep/a/b/c/d/e/g{i:03d}/leaf{j}.rs" for i in range(40) for j in range(5)]
    paths += [f"src/mod{i:02d}/file{j:02d}.rs" for i in range(50) for j in range(20)]
    versions = {}
    authors = [(f"Dev {i:02d}", f"dev{i:02d}@example.com") for i in range(60)]
    mark = 0
    made = 0
    tags = 0
    when = START

    def content(path, version, lines=20):
        body = [f"// {path}"]
        for j in range(lines):
            body.append(f"line {j} {'v%d' % version if j == version % lines else ''}".rstrip())
        return ("\n".join(body) + "\n").encode()

    def blob(data):
        nonlocal mark
        mark += 1
        write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
        write(data)
        write(b"\n")
        return mark

    def commit(ref, changes, message, parent_mark=None, merge_mark=None):
        """changes: list of ('M', path, blob_mark) or ('D', path) or ('R', old, new)."""
        nonlocal mark, when
        mark += 1
        name, email = authors[rng.randrange(len(authors))]
        when += args.minutes * 60 + rng.randrange(-120, 120)
        msg = message.encode()
        write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
        write(b"author %s <%s> %d +0000\n" % (name.encode(), email.encode(), when))
        write(b"committer %s <%s> %d +0000\n" % (name.encode(), email.encode(), when))
        write(b"data %d\n%s\n" % (len(msg), msg))
        if parent_mark is not None:
            write(b"from :%d\n" % parent_mark)
        if merge_mark is not None:
            write(b"merge :%d\n" % merge_mark)
        for change in changes:
            if change[0] == "M":
                write(b"M 100644 :%d %s\n" % (change[2], change[1].encode()))
            elif change[0] == "D":
                write(b"D %s\n" % change[1].encode())
            else:
                write(b"R %s %s\n" % (change[1].encode(), change[2].encode()))
        write(b"\n")
        return mark

    def edit(path, lines=20):
        versions[path] = versions.get(path, 0) + 1
        return ("M", path, blob(content(path, versions[path], lines)))

    # The first commit holds every file.
    head = commit("refs/heads/main", [edit(p) for p in paths], "Initial import")
    made = 1
    while made < args.commits:
        if args.merge_every and made % args.merge_every == 0 and made + 4 <= args.commits:
            # A topic branch of three commits, merged back.
            base = head
            tip = base
            for k in range(3):
                path = paths[rng.randrange(len(paths))]
                tip = commit("refs/heads/topic", [edit(path)], f"Topic work {made + k}", parent_mark=tip)
            head = commit("refs/heads/main", [], f"Merge branch 'topic' ({made})", parent_mark=head, merge_mark=tip)
            made += 4
        else:
            roll = rng.random()
            if roll < 0.80:
                changes = [edit(paths[rng.randrange(args.wide)] if rng.random() < 0.6 else paths[rng.randrange(len(paths))])]
                message = f"Change {made}"
            elif roll < 0.95:
                changes = [edit(paths[rng.randrange(len(paths))]) for _ in range(5)]
                message = f"Update five files ({made})"
            elif roll < 0.99:
                path = f"src/mod{rng.randrange(50):02d}/new{made}.rs"
                paths.append(path)
                changes = [edit(path, 300)]
                message = f"Add a large file ({made})"
            else:
                index = rng.randrange(args.wide, len(paths))
                old = paths[index]
                new = old.rsplit("/", 1)[0] + f"/renamed{made}.rs"
                paths[index] = new
                versions[new] = versions.pop(old, 0)
                changes = [("R", old, new)]
                message = f"Rename {old} ({made})"
            head = commit("refs/heads/main", changes, message, parent_mark=head)
            made += 1
        if args.tag_every and made // args.tag_every > tags:
            tags = made // args.tag_every
            message = f"Release 1.{tags}.0".encode()
            write(b"tag v1.%d.0\nfrom :%d\n" % (tags, head))
            write(b"tagger Release Bot <release@example.com> %d +0000\n" % when)
            write(b"data %d\n%s\n" % (len(message), message))
    write(b"reset refs/heads/topic\nfrom :%d\n\n" % head)
    out.flush()
    print(f"{made} commits, {tags} tags, last at {when}", file=sys.stderr)


if __name__ == "__main__":
    main()
