"""``ppresnet45 configs``: the packaged configs, one line each; ``ppresnet45 configs NAME``
prints one (to start your own: ``ppresnet45 configs rec_resnet45_ctc > my.yml``).

Every command's ``-c`` takes these names from anywhere, as well as paths."""

import os

from ..config import find_config, packaged_configs


def add_arguments(parser):
    parser.add_argument("name", nargs="?", help="print this config (a packaged name or a path) instead of the list")
    parser.add_argument("--path", action="store_true", help="print the file paths instead of the summaries")


def run(args):
    if args.name:
        path = find_config(args.name)
        if args.path:
            print(os.path.abspath(path))
            return 0
        with open(path, encoding="utf-8") as f:
            print(f.read(), end="")
        return 0
    packaged = packaged_configs()
    width = max(len(n) for n in packaged)
    for name, (path, summary) in packaged.items():
        print(f"{name:<{width}}  {path if args.path else summary}")
    return 0
