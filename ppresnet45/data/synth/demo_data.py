"""The demo recipe's data (``ppresnet45 train-demo``): the held-out sets and the training files,
rendered once into ``OUTPUT/data`` and reused when already rendered with the same settings."""

import json
import os

from ...utils.io import atomic_write_text
from ..label_file import read_label_texts
from .curriculum import StyleRamp
from .dataset import render_dataset
from .fonts import DEFAULT_FONTS_HOLDOUT, find_fonts, split_fonts

DEFAULT_HOLDOUT = list(DEFAULT_FONTS_HOLDOUT)


def render_split(
    out_dir,
    name,
    num,
    seed,
    charset,
    augment,
    exclude=None,
    unique=False,
    show_progress=True,
    fonts=None,
    folder_per_family=False,
    ramp=None,
):
    """Render ``num`` lines as ``out_dir/<name>/*.png`` + ``out_dir/<name>.txt`` unless they exist
    with the same settings; returns (label file, its texts)."""

    settings = {
        "num": num,
        "seed": seed,
        "charset": charset,
        "min_len": 1,
        "max_len": 10,
        "unique": unique,
        "augment": augment,
        "exclude": len(exclude or ()),
        "height": 32,
        "fonts": [os.path.basename(f) for f in fonts or ["builtin"]],
        "per_family": folder_per_family,
        **(ramp.settings() if ramp is not None else {}),
    }
    stamp = os.path.join(out_dir, name + ".render.json")
    label_file = os.path.join(out_dir, name + ".txt")
    if os.path.isfile(stamp) and os.path.isfile(label_file):
        with open(stamp, encoding="utf-8") as f:
            if json.load(f) == settings:
                print(f"reusing {label_file}")
                return label_file, read_label_texts(label_file)
    render_dataset(
        out_dir,
        num,
        seed=seed,
        charset=charset,
        min_len=1,
        max_len=10,
        height=32,
        augment=augment,
        label_file=name + ".txt",
        image_subdir=name,
        exclude_texts=exclude,
        unique=unique,
        show_progress=show_progress,
        fonts=fonts,
        folder_per_family=folder_per_family,
        line_recipe=ramp,
    )
    atomic_write_text(stamp, json.dumps(settings) + "\n")
    return label_file, read_label_texts(label_file)


def render_all(args, data_dir, charset):
    """Render the held-out sets and the training files; returns (heldout, heldout_fonts, train files)."""
    progress = not args.no_progress
    fonts = find_fonts(include_packages=True)
    train_fonts, held_fonts = split_fonts(fonts, args.fonts_holdout)
    diverse = args.augment == "diverse"
    line_fonts = train_fonts if diverse else None  # the earlier recipes draw with the built-in font only
    heldout_file, heldout = render_split(
        data_dir,
        "heldout",
        args.num_heldout,
        seed=2024,
        charset=charset,
        augment=args.augment != "none",
        unique=True,
        show_progress=progress,
        fonts=line_fonts,
    )
    fonts_file, fonts_texts = render_split(
        data_dir,
        "heldout_fonts",
        args.num_heldout,
        seed=2025,
        charset=charset,
        augment=True,
        unique=True,
        exclude=set(heldout),
        show_progress=progress,
        fonts=held_fonts,
        folder_per_family=True,
    )
    exclude = set(heldout) | set(fonts_texts)
    if diverse:
        ramp = StyleRamp(
            args.num_train, tuple(train_fonts), args.ramp[0], args.ramp[1], args.clean_fraction, args.short_len
        )
        return (
            heldout_file,
            fonts_file,
            [
                render_split(
                    data_dir,
                    "train_curriculum",
                    args.num_train,
                    seed=8,
                    charset=charset,
                    augment=True,
                    exclude=exclude,
                    show_progress=progress,
                    fonts=train_fonts,
                    ramp=ramp,
                )[0]
            ],
        )
    n_clean = {"none": args.num_train, "full": 0}.get(args.augment, int(round(args.num_train * args.clean_fraction)))
    train_files = []
    if n_clean:
        train_files.append(
            render_split(
                data_dir,
                "train_clean",
                n_clean,
                seed=7,
                charset=charset,
                augment=False,
                exclude=exclude,
                show_progress=progress,
            )[0]
        )
    if args.num_train - n_clean:
        train_files.append(
            render_split(
                data_dir,
                "train_aug",
                args.num_train - n_clean,
                seed=8,
                charset=charset,
                augment=True,
                exclude=exclude,
                show_progress=progress,
            )[0]
        )
    return heldout_file, fonts_file, train_files
