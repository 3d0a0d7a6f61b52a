"""An index changed behind the project's back: a clear error on load naming the file,
never a silent wrong answer, never code run from the index."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from rag import Assistant
from rag.build import build_index
from rag.errors import IndexFormatError
from rag.settings import Settings

pytestmark = pytest.mark.slow

TEXT = {
    "bulletin.txt": "2023年临江市统计公报\n\n全市地区生产总值865.3亿元，比上年增长5.2%。年末常住人口182.6万人。\n",
    "wiki.txt": "中国大鲵\n\n中国大鲵，俗称娃娃鱼，是现存最大的两栖动物，体长可达1.8米。\n",
}
FAST = Settings(fusion_fit=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("tamper")
    for name, text in TEXT.items():
        (root / name).write_text(text, encoding="utf-8")
    build_index([root / n for n in TEXT], root / "index", FAST)
    return root / "index"


@pytest.fixture
def index(built, tmp_path):
    dst = tmp_path / "index"
    shutil.copytree(built, dst, symlinks=True)
    return dst


def live(index):
    return index / (index / "CURRENT").read_text().strip()


def load_error(index, settings=FAST) -> str:
    with pytest.raises(IndexFormatError) as e:
        Assistant.load(index, settings)
    return str(e.value)


def test_the_untouched_copy_loads_and_answers(index):
    assert "865.3亿元" in Assistant.load(index, FAST).ask("2023年临江市地区生产总值是多少？").text


def test_a_truncated_faiss_file_is_named(index):
    p = live(index) / "dense" / "dense.faiss"
    p.write_bytes(p.read_bytes()[:100])
    msg = load_error(index)
    assert "dense.faiss" in msg and "rag ingest" in msg


@pytest.mark.parametrize("how", ["edit", "truncate"])
def test_an_edited_or_truncated_sqlite_file_is_named(index, how):
    p = live(index) / "records.sqlite"
    if how == "edit":  # a valid database with one answer changed: only the checksum can tell
        con = sqlite3.connect(p)
        con.execute("UPDATE chunks SET record = replace(record, '865.3', '999.9')")
        con.commit()
        con.close()
    else:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    msg = load_error(index)
    assert "records.sqlite" in msg


def test_an_edited_bm25_array_is_named_even_at_the_same_size(index):
    p = next((live(index) / "bm25").glob("*.npy"))
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))
    assert p.name in load_error(index)


def test_size_mode_catches_a_truncation_but_not_a_same_size_edit(index):
    p = next((live(index) / "bm25").glob("*.npy"))
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))
    Assistant.load(index, Settings(fusion_fit=False, verify_index="size"))  # documented: sizes only
    p.write_bytes(bytes(data[:-8]))
    assert p.name in load_error(index, Settings(fusion_fit=False, verify_index="size"))


def test_a_manifest_naming_a_file_outside_the_folder(index):
    m = live(index) / "manifest.json"
    manifest = json.loads(m.read_text(encoding="utf-8"))
    manifest["integrity"]["../../etc/passwd"] = {"size": 1, "blake2b": "0"}
    m.write_text(json.dumps(manifest), encoding="utf-8")
    assert "outside the index folder" in load_error(index)


def test_a_symlink_inside_the_index_folder(index, tmp_path):
    outside = tmp_path / "elsewhere.npy"
    target = next((live(index) / "bm25").glob("*.npy"))
    shutil.copy(target, outside)
    target.unlink()
    os.symlink(outside, target)
    msg = load_error(index)
    assert "symbolic link" in msg and target.name in msg


def test_a_planted_file_is_refused(index):
    (live(index) / "bm25" / "extra.npy").write_bytes(b"\x93NUMPY")
    assert "extra.npy" in load_error(index)


def test_a_pickle_in_place_of_an_array_never_runs(index, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = next((live(index) / "bm25").glob("*.npy"))
    p.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(IndexFormatError):
        Assistant.load(index, Settings(fusion_fit=False, verify_index="off"))  # even unchecked: no pickle
    assert not marker.exists()
