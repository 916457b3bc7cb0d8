"""The base image's root file system: mmdebstrap must be asked for a tarball.

Regression: the partial output was named `rootfs-<tag>.part<pid>`; mmdebstrap chooses its
format from the file name, wrote a directory, and `docker import` failed on every machine that
had not built the images before. The fake mmdebstrap below follows the documented rule (a
`.tar` suffix gives a tarball, a name without a known suffix gives a directory).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kafkadrill.errors import ProvisionError
from kafkadrill.runtimes.compose import images

FAKE_MMDEBSTRAP = """#!/bin/sh
for last; do :; done
# arguments: options... SUITE TARGET MIRROR -> the target is the one before the mirror
target=""
prev=""
for a in "$@"; do
  [ "$a" = "$last" ] && target="$prev"
  prev="$a"
done
case "$target" in
  *.tar) printf 'tarball' > "$target" ;;
  *) mkdir -p "$target/etc" ;;
esac
"""


def _fake(tmp_path: Path, body: str = FAKE_MMDEBSTRAP) -> str:
    exe = tmp_path / "mmdebstrap"
    exe.write_text(body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_partial_name_keeps_tar_suffix() -> None:
    part = images.partial_rootfs_path(Path("/c/rootfs-bookworm-jre17-ab.tar"), 42)
    assert part.name == "rootfs-bookworm-jre17-ab.part42.tar"


def test_build_rootfs_leaves_a_tarball_file(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs-x.tar"
    images.build_rootfs(_fake(tmp_path), rootfs, "http://deb.invalid/debian")
    assert rootfs.is_file()
    assert rootfs.read_text() == "tarball"
    assert list(tmp_path.glob("*.part*")) == []


def test_directory_output_is_an_error_not_a_tarball(tmp_path: Path) -> None:
    # $5 with the options used: --quiet --variant=apt --include=... SUITE TARGET MIRROR
    always_dir = '#!/bin/sh\nmkdir -p "$5"\n'
    rootfs = tmp_path / "rootfs-x.tar"
    with pytest.raises(ProvisionError, match="directory"):
        images.build_rootfs(_fake(tmp_path, always_dir), rootfs, "http://deb.invalid/debian")
    assert not rootfs.exists()
    assert list(tmp_path.glob("rootfs-x.part*")) == []


def test_ensure_base_rebuilds_over_a_directory_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("KAFKADRILL_CACHE", str(cache))
    tag = images.base_tag()
    stale = cache / "images" / f"rootfs-{tag.split(':')[1]}.tar"
    (stale / "etc").mkdir(parents=True)  # what the old bug left on disk
    fake = _fake(tmp_path)
    monkeypatch.setattr(images, "image_exists", lambda _t: False)
    monkeypatch.setattr(images, "require_tool", lambda *_a, **_k: fake)
    monkeypatch.setattr(images, "debian_mirror", lambda: "http://deb.invalid/debian")
    imported: list[tuple[str, ...]] = []
    monkeypatch.setattr(images, "_docker", lambda *a, **_k: imported.append(a) or "")
    assert images.ensure_base() == tag
    assert stale.is_file()
    assert imported and imported[0][-2] == str(stale)
