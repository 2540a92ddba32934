"""Out-of-tree plugins register through the ``ppresnet45.plugins`` entry-point group.

A real distribution is written into a temporary folder (``.dist-info`` with
``entry_points.txt``) and put on ``sys.path``; nothing is mocked.
"""

import subprocess
import sys
import textwrap

import ppresnet45

PLUGIN_MODULE = textwrap.dedent(
    """
    from paddle import nn
    from ppresnet45 import BACKBONES

    @BACKBONES.register()
    class TinyPluginNet(nn.Layer):
        def __init__(self, in_channels=3, width=8):
            super().__init__()
            self.conv = nn.Conv2D(in_channels, width, 3, padding=1)
            self.out_channels = width

        def forward(self, x):
            return self.conv(x)
    """
)


def _make_distribution(root, module_name="my_ocr_plugin", ep_value=None):
    (root / f"{module_name}.py").write_text(PLUGIN_MODULE)
    dist = root / f"{module_name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module_name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ppresnet45.ENTRY_POINT_GROUP}]\ntiny = {ep_value or module_name}\n")
    return root


def _run(code, path):
    env_code = f"import sys; sys.path.insert(0, {str(path)!r})\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True, timeout=300)


def test_entry_point_plugin_is_registered_at_import(tmp_path):
    _make_distribution(tmp_path)
    proc = _run(
        """
        import ppresnet45
        print("ok" if "TinyPluginNet" in ppresnet45.list_backbones() else "missing")
        net = ppresnet45.build_backbone({"name": "TinyPluginNet", "width": 5})
        print(net.out_channels)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "5"]


def test_plugin_added_after_import_is_loaded_when_a_lookup_misses(tmp_path):
    _make_distribution(tmp_path, module_name="late_plugin")
    # The plugin is put on sys.path only after ppresnet45 was imported; the first miss
    # of a lookup must load the entry points again and find it.
    code = f"""
        import sys
        sys.path.remove({str(tmp_path)!r})
        import ppresnet45
        assert "TinyPluginNet" not in ppresnet45.BACKBONES
        sys.path.insert(0, {str(tmp_path)!r})
        model = ppresnet45.build_backbone({{"name": "TinyPluginNet"}})
        print(type(model).__name__)
    """
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "TinyPluginNet"


def test_a_broken_plugin_warns_but_does_not_break_the_core(tmp_path):
    _make_distribution(tmp_path, module_name="good_plugin")
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken_plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ppresnet45.ENTRY_POINT_GROUP}]\nbroken = no_such_module_xyz\n")
    proc = _run(
        """
        import ppresnet45
        print("ResNet45" in ppresnet45.list_backbones(), "TinyPluginNet" in ppresnet45.list_backbones())
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True"]
    assert "no_such_module_xyz" in proc.stderr
